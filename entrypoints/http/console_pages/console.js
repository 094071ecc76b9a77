// The draft editor's live preview and SMS part counter: the form as it is now is posted to
// the console (same origin, the session's token in a header) and the answers are written
// back as text, never as markup. An HTML part is shown in a sandboxed frame (no script; the
// console's own policy applies to it, so its inline styles show once the draft is saved).
"use strict";

function fields(form) {
  const found = {};
  for (const [key, value] of new FormData(form).entries()) {
    if (key !== "csrf") found[key] = String(value);
  }
  // Every language block, the "add a language" one included.
  found.languages = String(form.querySelectorAll("fieldset.language").length - 1);
  return found;
}

function line(tag, className, text) {
  const element = document.createElement(tag);
  if (className) element.className = className;
  element.textContent = text;
  return element;
}

function show(answer) {
  const box = document.getElementById("previews");
  box.replaceChildren();
  for (const preview of answer.previews || []) {
    const article = document.createElement("article");
    article.className = "message";
    article.dataset.language = preview.language;
    article.append(line("h3", "", preview.language));
    if (preview.subject) article.append(line("p", "subject", preview.subject));
    article.append(line("pre", "text", preview.text));
    const channel = preview.channel || {};
    if (channel.encoding) {
      article.append(line("p", "counter", channel.encoding + ", " + channel.parts +
        " of at most " + channel.maxParts + " SMS part(s), " + channel.characters + " characters"));
    }
    if (preview.refusal) article.append(line("p", "error refusal", preview.refusal));
    if (preview.html) {
      const frame = document.createElement("iframe");
      frame.className = "html";
      frame.setAttribute("sandbox", "");
      frame.setAttribute("title", "HTML part");
      frame.srcdoc = preview.html;
      article.append(frame);
    }
    box.append(article);
  }
  for (const [id, names] of [["undeclared", answer.undeclared], ["unused", answer.unused]]) {
    const element = document.getElementById(id);
    element.hidden = !(names && names.length);
    element.querySelector("span").textContent = (names || []).join(", ");
  }
  const error = document.getElementById("preview-error");
  if (error) error.remove();
}

function refused(message) {
  let error = document.getElementById("preview-error");
  if (!error) {
    error = line("p", "error", "");
    error.id = "preview-error";
    document.getElementById("preview").append(error);
  }
  error.textContent = message;
}

let pending = null;
function schedule(form) {
  clearTimeout(pending);
  pending = setTimeout(async () => {
    const response = await fetch(form.dataset.preview, {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-Console-Token": form.dataset.token },
      body: JSON.stringify(fields(form)),
      credentials: "same-origin",
    });
    const answer = await response.json();
    if (response.ok) show(answer); else refused(answer.error || "The preview failed.");
  }, 250);
}

function channelClass(form) {
  document.body.classList.toggle("mail", form.querySelector("#channel").value === "MAIL");
}

document.addEventListener("DOMContentLoaded", () => {
  const form = document.getElementById("draft");
  if (!form) return;
  channelClass(form);
  form.addEventListener("input", () => { channelClass(form); schedule(form); });
});
