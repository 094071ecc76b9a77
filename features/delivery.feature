Feature: Getting the code to the person
  A code that never arrives is worthless, and a code sent twice confuses people. The service
  tries again when a provider is briefly busy, moves to the backup provider when the main one
  is down, and stops at once when a provider refuses the message for good.

  @sms_provider
  Scenario: The main SMS provider is briefly overloaded
    Given the main SMS provider is briefly overloaded
    When the flow asks for a code by SMS
    Then the reply says the code was sent
    And the customer receives one SMS

  @sms_provider
  Scenario: The main SMS provider is down and the backup provider takes the message
    Given there is a backup SMS provider
    And the main SMS provider is down
    When the flow asks for a code by SMS
    Then the reply says the code was sent
    And the customer receives one SMS, through the backup provider

  @sms_provider
  Scenario: The SMS provider refuses the message for good
    Given there is a backup SMS provider
    And the main SMS provider refuses the message for good
    When the flow asks for a code by SMS
    Then the reply says the code was not sent because of "DELIVERY_FAILED"
    And the customer receives nothing
    And the backup provider was not troubled

  @sms_provider
  Scenario: A message too long for a short SMS is not sent at all
    Given an SMS may be only one part long
    When the flow asks for a code by SMS for a contract with a long Romanian name
    Then the reply says the code was not sent because of "DELIVERY_FAILED"
    And the reason given is that the text needs more SMS parts than allowed
    And the customer receives nothing

  @smtp
  Scenario: The mail server asks to try later, then takes the mail
    Given the mail server is briefly busy
    When the flow asks for a code by MAIL
    Then the reply says the code was sent
    And the customer receives one e-mail

  @smtp
  Scenario: The customer's mailbox does not exist
    Given the customer's mailbox does not exist
    When the flow asks for a code by MAIL
    Then the reply says the code was not sent because of "DELIVERY_FAILED"
    And the customer receives no e-mail
