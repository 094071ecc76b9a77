Feature: Templates that product owners write, publish and roll back
  A product owner changes what customers read without an engineer: a draft changes nothing
  until it is published, every published version is kept, and a rollback brings an earlier
  text back. Each code says which version it was sent with, so nobody has to guess what a
  customer received. Two people editing at once never overwrite each other.

  Background:
    Given the SMS template "login" reads "Your code is {{ otpValue }}" in English

  Scenario: A draft changes nothing until it is published
    When the product owner saves a draft reading "Use {{ otpValue }} to sign in"
    And the flow asks for a code for client "c1" by SMS to "+40722123456" with template "login"
    Then the customer reads "Your code is"
    And the code was sent with version 1 of "login"

  Scenario: A published version is what the next customer reads
    When the product owner saves a draft reading "Use {{ otpValue }} to sign in"
    And the product owner publishes it with the note "clearer wording"
    And the flow asks for a code for client "c1" by SMS to "+40722123456" with template "login"
    Then the customer reads "Use"
    And the code was sent with version 2 of "login"

  Scenario: A rollback brings the earlier text back as a new version
    Given the product owner published "Use {{ otpValue }} to sign in" as version 2
    When the product owner rolls back to version 1 with the note "customers were confused"
    And the flow asks for a code for client "c1" by SMS to "+40722123456" with template "login"
    Then the customer reads "Your code is"
    And the code was sent with version 3 of "login"
    And the history of "login" reads versions 3, 2 and 1, version 3 republishing version 1

  Scenario: Two product owners publish at the same moment
    Given two product owners opened "login" at the same time
    When both publish their own text
    Then one of them is told that someone else changed the template first
    And the other's text is version 2, and nothing else changed
