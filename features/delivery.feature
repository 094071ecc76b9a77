Feature: Getting the code to the person
  A code that never arrives is worthless, and a code sent twice confuses people. The service
  tries again when a provider is briefly busy, moves to the next provider when one is down,
  and stops at once when a provider refuses the message for good.

  @sms_provider
  Scenario: The SMS provider is busy once, then takes the message
    Given the SMS providers are "twilio"
    And "twilio" answers "429 Too Many Requests" once
    When the flow asks for a code by SMS
    Then the reply says the code was sent
    And "twilio" was asked 2 times
    And the person received exactly 1 SMS

  @sms_provider
  Scenario: The first SMS provider keeps failing, the second one takes the message
    Given the SMS providers are "twilio, webhook"
    And "twilio" answers "500 Internal Server Error" 3 times
    When the flow asks for a code by SMS
    Then the reply says the code was sent
    And "twilio" was asked 3 times
    And "webhook" was asked 1 times

  @sms_provider
  Scenario: The SMS provider refuses the message for good
    Given the SMS providers are "twilio, webhook"
    And "twilio" answers "400 Bad Request" once
    When the flow asks for a code by SMS
    Then the reply says the code was not sent because of "DELIVERY_FAILED"
    And the error mentions "HTTP 400"
    And "twilio" was asked 1 times
    And "webhook" was asked 0 times

  @sms_provider
  Scenario: A message too long for the SMS limit is not sent at all
    Given the SMS providers are "twilio"
    And at most 1 SMS segment is allowed
    When the flow asks for a code by SMS for a contract numbered "ȘȚĂÎÂșțăîâȘȚĂÎÂșțăîâȘȚĂÎÂșțăîâȘȚĂÎÂșțăîâȘȚĂÎÂșțăîâȘȚĂÎÂ"
    Then the reply says the code was not sent because of "DELIVERY_FAILED"
    And the error mentions "segments"
    And "twilio" was asked 0 times

  @smtp
  Scenario: The mail server asks to try later, then takes the mail
    Given the mail server answers "451 4.3.0 Try again later" once
    When the flow asks for a code by MAIL
    Then the reply says the code was sent
    And the mail server received 1 mail

  @smtp
  Scenario: The mail server refuses the mailbox
    Given the mail server answers "550 5.1.1 No such mailbox" once
    When the flow asks for a code by MAIL
    Then the reply says the code was not sent because of "DELIVERY_FAILED"
    And the error mentions "550"
    And the mail server received 0 mails
