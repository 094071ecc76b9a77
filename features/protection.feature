Feature: Codes that only their owner can use
  A code approves one thing for one person. Someone who guesses, or who asks for codes to be
  sent to numbers that are not theirs, is stopped before it costs the customer or the bank.

  Scenario: A code sent to sign a payment approves that payment only
    Given a code was sent to client "1871201460101" by SMS to sign a payment of "120.50 RON" to "Ana Pop"
    When the person types the code they received for a payment of "9120.50 RON" to "Ana Pop"
    Then the reply says the code is not valid because of "OTP_MISMATCH"
    When the person types the code they received for a payment of "120.50 RON" to "Ana Pop"
    Then the reply says the code is valid

  Scenario: The SMS shows the payment it signs
    Given a code was sent to client "1871201460101" by SMS to sign a payment of "120.50 RON" to "Ana Pop"
    Then "+40722123456" receives an SMS with the code that starts with "Pay 120.50 RON to Ana Pop"

  Scenario: Guessing stops for the day, even with new codes
    Given someone typed 20 wrong codes for client "1871201460101" by SMS today, asking for new codes in between
    When the flow asks for a code for client "1871201460101" by SMS to "+40722123456" with template "otp-sms"
    Then the reply says the code was not sent because of "OTP_LOCKED"
    When 25 hours pass
    And the flow asks for a code for client "1871201460101" by SMS to "+40722123456" with template "otp-sms"
    Then the reply says the code was sent

  Scenario: Codes for many different customers to one phone number stop at a few
    Given at most 3 codes an hour may go to one phone number
    When the flow asks for codes for 5 different customers, all to "+40722123456"
    Then 3 codes were sent and 2 were refused because of "RATE_LIMITED"

  Scenario: No code goes to a premium-rate number
    When the flow asks for a code for client "1871201460101" by SMS to "+40900123456" with template "otp-sms"
    Then the reply says the code was not sent because of "INVALID_RECIPIENT"
    And nobody receives anything
