import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Date;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.jsmpp.PDUStringException;
import org.jsmpp.SMPPConstant;
import org.jsmpp.bean.BindType;
import org.jsmpp.bean.BroadcastSm;
import org.jsmpp.bean.CancelBroadcastSm;
import org.jsmpp.bean.CancelSm;
import org.jsmpp.bean.DataCodings;
import org.jsmpp.bean.DataSm;
import org.jsmpp.bean.DeliveryReceipt;
import org.jsmpp.bean.ESMClass;
import org.jsmpp.bean.GSMSpecificFeature;
import org.jsmpp.bean.InterfaceVersion;
import org.jsmpp.bean.MessageMode;
import org.jsmpp.bean.MessageType;
import org.jsmpp.bean.NumberingPlanIndicator;
import org.jsmpp.bean.OptionalParameter;
import org.jsmpp.bean.QueryBroadcastSm;
import org.jsmpp.bean.QuerySm;
import org.jsmpp.bean.RegisteredDelivery;
import org.jsmpp.bean.ReplaceSm;
import org.jsmpp.bean.SubmitMulti;
import org.jsmpp.bean.SubmitSm;
import org.jsmpp.bean.TypeOfNumber;
import org.jsmpp.extra.ProcessRequestException;
import org.jsmpp.session.BindRequest;
import org.jsmpp.session.BroadcastSmResult;
import org.jsmpp.session.DataSmResult;
import org.jsmpp.session.QueryBroadcastSmResult;
import org.jsmpp.session.QuerySmResult;
import org.jsmpp.session.SMPPServerSession;
import org.jsmpp.session.SMPPServerSessionListener;
import org.jsmpp.session.ServerMessageReceiverListener;
import org.jsmpp.session.Session;
import org.jsmpp.session.SubmitMultiResult;
import org.jsmpp.session.SubmitSmResult;
import org.jsmpp.session.connection.ServerConnection;
import org.jsmpp.session.connection.ServerConnectionFactory;
import org.jsmpp.session.connection.socket.ServerSocketConnection;
import org.jsmpp.util.DeliveryReceiptState;
import org.jsmpp.util.MessageId;

/**
 * The SMSC the tests talk to: jsmpp's server session (the protocol is the library's) behind a
 * small launcher that binds one transceiver account, records every submit_sm, answers with
 * delivery receipts, and can be told over a loopback control port to throttle, refuse, drop the
 * bind, or change its receipts.
 *
 * <p>Arguments: host smppPort controlPort systemId password.
 *
 * <p>Control (HTTP on the control port, loopback only):
 *
 * <ul>
 *   <li>GET /received: the submits recorded since the last reset, one JSON object a line;
 *   <li>GET /sessions: how many sessions are bound, and how many binds were accepted in all;
 *   <li>POST /reset: forget the submits, back to the defaults;
 *   <li>POST /set?throttle=N: answer the next N submits ESME_RTHROTTLED (0x58);
 *   <li>POST /set?refuse=N: answer the next N submits ESME_RINVDSTADR (0x0B, permanent);
 *   <li>POST /set?dropAfter=N: close every session, without unbind, after N more submits;
 *   <li>POST /drop: close every session now, without unbind;
 *   <li>POST /set?receipts=delivered|undelivered|duplicate|early|none and receiptDelayMs=M:
 *       "duplicate" sends each receipt twice, "early" sends it before the submit_sm_resp.
 * </ul>
 */
public final class OtpSmsc implements ServerMessageReceiverListener {

    private final String systemId;
    private final String password;
    private final Set<SMPPServerSession> sessions = ConcurrentHashMap.newKeySet();
    private final List<String> received = new ArrayList<>();
    private final AtomicLong nextId = new AtomicLong(0x1000);
    private final AtomicInteger binds = new AtomicInteger();
    private final ScheduledExecutorService receipts = Executors.newScheduledThreadPool(4);
    private volatile int throttle;
    private volatile int refuse;
    private volatile int dropAfter = -1;
    private volatile String receiptMode = "delivered";
    private volatile long receiptDelayMs = 50;

    private OtpSmsc(String systemId, String password) {
        this.systemId = systemId;
        this.password = password;
    }

    public static void main(String[] args) throws Exception {
        String host = args[0];
        int port = Integer.parseInt(args[1]);
        int controlPort = Integer.parseInt(args[2]);
        OtpSmsc smsc = new OtpSmsc(args[3], args[4]);
        smsc.control(host, controlPort);
        smsc.listen(host, port);
    }

    // ------------------------------------------------------------ SMPP

    private void listen(String host, int port) throws IOException {
        InetAddress address = InetAddress.getByName(host);
        // Bound to the given address only (loopback in the tests), not to every interface.
        ServerConnectionFactory loopback = new ServerConnectionFactory() {
            @Override
            public ServerConnection listen(int p) throws IOException {
                return listen(p, 0, 50);
            }

            @Override
            public ServerConnection listen(int p, int timeout) throws IOException {
                return listen(p, timeout, 50);
            }

            @Override
            public ServerConnection listen(int p, int timeout, int backlog) throws IOException {
                ServerSocket socket = new ServerSocket();
                socket.setReuseAddress(true);
                socket.bind(new InetSocketAddress(address, p), backlog);
                socket.setSoTimeout(timeout);
                return new ServerSocketConnection(socket);
            }
        };
        try (SMPPServerSessionListener listener = new SMPPServerSessionListener(port, loopback)) {
            System.out.println("smsc listening on " + host + ":" + port);
            while (true) {
                SMPPServerSession session = listener.accept();
                session.setMessageReceiverListener(this);
                Thread bind = new Thread(() -> bind(session), "bind-" + session.getSessionId());
                bind.setDaemon(true);
                bind.start();
            }
        }
    }

    private void bind(SMPPServerSession session) {
        try {
            BindRequest request = session.waitForBind(10_000);
            if (request.getBindType() != BindType.BIND_TRX) {
                request.reject(SMPPConstant.STAT_ESME_RBINDFAIL);
            } else if (!systemId.equals(request.getSystemId())) {
                request.reject(SMPPConstant.STAT_ESME_RINVSYSID);
            } else if (!password.equals(request.getPassword())) {
                request.reject(SMPPConstant.STAT_ESME_RINVPASWD);
            } else {
                request.accept("otp-smsc", InterfaceVersion.IF_34);
                sessions.add(session);
                binds.incrementAndGet();
                session.addSessionStateListener((now, old, source) -> {
                    if (!now.isBound()) {
                        sessions.remove(session);
                    }
                });
            }
        } catch (Exception e) {
            session.close();
        }
    }

    @Override
    public SubmitSmResult onAcceptSubmitSm(SubmitSm submit, SMPPServerSession source)
            throws ProcessRequestException {
        if (throttle > 0) {
            throttle--;
            throw new ProcessRequestException("throttled", SMPPConstant.STAT_ESME_RTHROTTLED);
        }
        if (refuse > 0) {
            refuse--;
            throw new ProcessRequestException("refused", SMPPConstant.STAT_ESME_RINVDSTADR);
        }
        MessageId id;
        try {
            id = new MessageId(Long.toHexString(nextId.incrementAndGet()));
        } catch (PDUStringException e) {
            throw new ProcessRequestException("message id", SMPPConstant.STAT_ESME_RSYSERR);
        }
        record(submit, id);
        String mode = receiptMode;
        boolean wanted = (submit.getRegisteredDelivery() & 0x03) != 0;
        if (wanted && !"none".equals(mode)) {
            long delay = "early".equals(mode) ? 0 : receiptDelayMs;
            int copies = "duplicate".equals(mode) ? 2 : 1;
            for (int copy = 0; copy < copies; copy++) {
                receipts.schedule(() -> receipt(source, submit, id, mode), delay + copy * 20L,
                        TimeUnit.MILLISECONDS);
            }
            if ("early".equals(mode)) {
                sleep(300); // the receipt goes out first; the response follows
            }
        }
        int left = dropAfter;
        if (left > 0) {
            dropAfter = left - 1;
            if (left == 1) {
                receipts.schedule(this::dropAll, 0, TimeUnit.MILLISECONDS);
            }
        }
        return new SubmitSmResult(id, new OptionalParameter[0]);
    }

    private synchronized void record(SubmitSm submit, MessageId id) {
        HexFormat hex = HexFormat.of();
        OptionalParameter payload = submit.getOptionalParameter(OptionalParameter.Tag.MESSAGE_PAYLOAD);
        String payloadHex = payload instanceof OptionalParameter.OctetString octets
                ? hex.formatHex(octets.getValue()) : "";
        received.add(String.format(
                "{\"messageId\":\"%s\",\"source\":\"%s\",\"destination\":\"%s\",\"dataCoding\":%d,"
                        + "\"esmClass\":%d,\"registeredDelivery\":%d,\"shortMessage\":\"%s\","
                        + "\"messagePayload\":\"%s\"}",
                id.getValue(), digits(submit.getSourceAddr()), digits(submit.getDestAddress()),
                submit.getDataCoding() & 0xff, submit.getEsmClass() & 0xff,
                submit.getRegisteredDelivery() & 0xff,
                hex.formatHex(submit.getShortMessage() == null ? new byte[0] : submit.getShortMessage()),
                payloadHex));
    }

    /** An address keeps only the characters a JSON string can hold unescaped. */
    private static String digits(String address) {
        return address == null ? "" : address.replaceAll("[^A-Za-z0-9+ ._-]", "?");
    }

    private void receipt(SMPPServerSession session, SubmitSm submit, MessageId id, String mode) {
        if (!session.getSessionState().isBound()) {
            return; // a receipt for a dropped bind is lost, as on a real SMSC without a store
        }
        boolean delivered = !"undelivered".equals(mode);
        DeliveryReceiptState state = delivered ? DeliveryReceiptState.DELIVRD : DeliveryReceiptState.UNDELIV;
        String error = delivered ? "000" : "001";
        DeliveryReceipt text = new DeliveryReceipt(id.getValue(), 1, delivered ? 1 : 0, new Date(),
                new Date(), state, error, "");
        try {
            session.deliverShortMessage("", TypeOfNumber.valueOf(submit.getDestAddrTon()),
                    NumberingPlanIndicator.valueOf(submit.getDestAddrNpi()), submit.getDestAddress(),
                    TypeOfNumber.valueOf(submit.getSourceAddrTon()),
                    NumberingPlanIndicator.valueOf(submit.getSourceAddrNpi()), submit.getSourceAddr(),
                    new ESMClass(MessageMode.DEFAULT, MessageType.SMSC_DEL_RECEIPT, GSMSpecificFeature.DEFAULT),
                    (byte) 0, (byte) 0, new RegisteredDelivery(0), DataCodings.ZERO,
                    text.toString().getBytes(StandardCharsets.US_ASCII),
                    new OptionalParameter.Receipted_message_id(id.getValue()),
                    new OptionalParameter.Message_state(delivered ? (byte) 2 : (byte) 5));
        } catch (Exception e) {
            System.out.println("receipt for " + id.getValue() + " not sent: " + e);
        }
    }

    private void dropAll() {
        for (SMPPServerSession session : sessions) {
            session.close();
        }
        sessions.clear();
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static ProcessRequestException notServed(String what) {
        return new ProcessRequestException(what + " is not served here", SMPPConstant.STAT_ESME_RINVCMDID);
    }

    @Override
    public SubmitMultiResult onAcceptSubmitMulti(SubmitMulti submit, SMPPServerSession source)
            throws ProcessRequestException {
        throw notServed("submit_multi");
    }

    @Override
    public QuerySmResult onAcceptQuerySm(QuerySm query, SMPPServerSession source)
            throws ProcessRequestException {
        throw notServed("query_sm");
    }

    @Override
    public void onAcceptReplaceSm(ReplaceSm replace, SMPPServerSession source)
            throws ProcessRequestException {
        throw notServed("replace_sm");
    }

    @Override
    public void onAcceptCancelSm(CancelSm cancel, SMPPServerSession source)
            throws ProcessRequestException {
        throw notServed("cancel_sm");
    }

    @Override
    public BroadcastSmResult onAcceptBroadcastSm(BroadcastSm broadcast, SMPPServerSession source)
            throws ProcessRequestException {
        throw notServed("broadcast_sm");
    }

    @Override
    public void onAcceptCancelBroadcastSm(CancelBroadcastSm cancel, SMPPServerSession source)
            throws ProcessRequestException {
        throw notServed("cancel_broadcast_sm");
    }

    @Override
    public QueryBroadcastSmResult onAcceptQueryBroadcastSm(QueryBroadcastSm query,
            SMPPServerSession source) throws ProcessRequestException {
        throw notServed("query_broadcast_sm");
    }

    @Override
    public DataSmResult onAcceptDataSm(DataSm data, Session source) throws ProcessRequestException {
        throw notServed("data_sm");
    }

    // ------------------------------------------------------------ control

    private void control(String host, int port) throws IOException {
        HttpServer server = HttpServer.create(new InetSocketAddress(InetAddress.getByName(host), port), 0);
        server.createContext("/received", exchange -> {
            String body;
            synchronized (this) {
                body = String.join("\n", received);
            }
            answer(exchange, 200, body);
        });
        server.createContext("/sessions", exchange -> answer(exchange, 200,
                "{\"bound\":" + sessions.size() + ",\"binds\":" + binds.get() + "}"));
        server.createContext("/reset", exchange -> {
            synchronized (this) {
                received.clear();
            }
            throttle = 0;
            refuse = 0;
            dropAfter = -1;
            receiptMode = "delivered";
            receiptDelayMs = 50;
            answer(exchange, 200, "ok");
        });
        server.createContext("/drop", exchange -> {
            dropAll();
            answer(exchange, 200, "ok");
        });
        server.createContext("/set", exchange -> {
            Map<String, String> query = query(exchange.getRequestURI().getRawQuery());
            try {
                if (query.containsKey("throttle")) {
                    throttle = Integer.parseInt(query.get("throttle"));
                }
                if (query.containsKey("refuse")) {
                    refuse = Integer.parseInt(query.get("refuse"));
                }
                if (query.containsKey("dropAfter")) {
                    dropAfter = Integer.parseInt(query.get("dropAfter"));
                }
                if (query.containsKey("receiptDelayMs")) {
                    receiptDelayMs = Long.parseLong(query.get("receiptDelayMs"));
                }
                if (query.containsKey("receipts")) {
                    String mode = query.get("receipts");
                    if (!Set.of("delivered", "undelivered", "duplicate", "early", "none").contains(mode)) {
                        answer(exchange, 400, "unknown receipts mode");
                        return;
                    }
                    receiptMode = mode;
                }
            } catch (NumberFormatException e) {
                answer(exchange, 400, "not a number");
                return;
            }
            answer(exchange, 200, "ok");
        });
        server.start();
    }

    private static Map<String, String> query(String raw) {
        Map<String, String> values = new HashMap<>();
        if (raw == null) {
            return values;
        }
        for (String pair : raw.split("&")) {
            int equals = pair.indexOf('=');
            if (equals > 0) {
                values.put(URLDecoder.decode(pair.substring(0, equals), StandardCharsets.UTF_8),
                        URLDecoder.decode(pair.substring(equals + 1), StandardCharsets.UTF_8));
            }
        }
        return values;
    }

    private static void answer(HttpExchange exchange, int status, String body) throws IOException {
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        exchange.sendResponseHeaders(status, bytes.length);
        try (OutputStream out = exchange.getResponseBody()) {
            out.write(bytes);
        }
    }
}
