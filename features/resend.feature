Feature: A code the person holds stays valid until a new one reaches them
  When the e-mail server is briefly down, the new code does not reach the person. The code they
  already have must keep working, and the engine must be able to ask again at once. When the
  engine asks twice for the same thing, the person gets one message, not two.

  Scenario: The e-mail server is briefly down and the engine asks again
    Given a code was sent to client "ana" by MAIL
    And 2 minutes pass
    And the e-mail server is down
    When the flow asks again for a code for client "ana" by MAIL
    Then the reply says the code was not sent because of "DELIVERY_FAILED"
    And the code the person already had still works
    When the e-mail server is back
    And the flow asks again for a code for client "ana" by MAIL
    Then the reply says the code was sent
    And the person has received 2 e-mails in all
    And only the newest code works

  Scenario: The code the person holds keeps working while the e-mail server is down
    Given a code was sent to client "ana" by MAIL
    And 2 minutes pass
    And the e-mail server is down
    When the flow asks again for a code for client "ana" by MAIL
    And the person types the code they received
    Then the reply says the code is valid

  Scenario: An address whose mail keeps failing is not tried without end
    Given the e-mail server is down
    When the flow asks again for a code for client "ana" by MAIL 10 times
    And the flow asks again for a code for client "ana" by MAIL
    Then the reply says the code was not sent because of "RATE_LIMITED"
    And the error mentions "delivery attempts"

  Scenario: The engine asks twice for the same code
    When the engine sends the same request for client "ana" by MAIL twice
    Then the person has received 1 e-mail in all
    And both replies say the code was sent
