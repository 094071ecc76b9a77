Feature: Sending a one-time password
  A business flow (for example "confirm your e-mail" or "sign this contract") asks the service
  to send a person a one-time password through a notification template, by e-mail or by SMS.
  The service makes the code itself, keeps only a fingerprint of it, and tells the flow
  whether the message went out.

  @mail
  Scenario: A code is sent by e-mail
    When the flow asks for a code for client "1871201460101" by MAIL to "ana@example.com" with template "otp-mail"
    Then the reply says the code was sent
    And "ana@example.com" receives an e-mail with the code

  @sms
  Scenario: A code is sent by SMS in the person's language
    When the flow asks for a code for client "1871201460101" by SMS to "+40722123456" with template "otp-sms" in "ro"
    Then the reply says the code was sent
    And "+40722123456" receives an SMS with the code that starts with "Codul"

  @errors
  Scenario: The template does not exist
    When the flow asks for a code for client "c1" by SMS to "+40722123456" with template "no-such-template"
    Then the reply says the code was not sent because of "TEMPLATE_NOT_FOUND"
    And nobody receives anything

  @errors
  Scenario: A mandatory template parameter is missing
    Given the template "contract-sign" needs the parameter "contractNumber"
    When the flow asks for a code for client "c1" by SMS to "+40722123456" with template "contract-sign"
    Then the reply says the code was not sent because of "TEMPLATE_PARAMETER_MISSING"
    And the error mentions "contractNumber"
    And nobody receives anything

  @errors
  Scenario Outline: The recipient is not a valid address for the channel
    When the flow asks for a code for client "c1" by <channel> to "<recipient>" with template "<template>"
    Then the reply says the code was not sent because of "INVALID_RECIPIENT"
    And nobody receives anything

    Examples:
      | channel | recipient        | template |
      | SMS     | 0722             | otp-sms  |
      | SMS     | ana@example.com  | otp-sms  |
      | MAIL    | ana(at)example   | otp-mail |
      | MAIL    | +40722123456     | otp-mail |

  @policy
  Scenario: Asking again too soon is refused
    Given a code was sent to client "c1" by SMS
    When 10 seconds pass
    And the flow asks for a code for client "c1" by SMS to "+40722123456" with template "otp-sms"
    Then the reply says the code was not sent because of "RATE_LIMITED"

  @policy
  Scenario: Asking again after the cooldown sends a new code
    Given a code was sent to client "c1" by SMS
    When 31 seconds pass
    And the flow asks for a code for client "c1" by SMS to "+40722123456" with template "otp-sms"
    Then the reply says the code was sent

  @policy
  Scenario: Only a few codes may be sent in a window
    Given 5 codes were sent to client "c1" by SMS a minute apart
    When the flow asks for a code for client "c1" by SMS to "+40722123456" with template "otp-sms"
    Then the reply says the code was not sent because of "RATE_LIMITED"
    And the error mentions "Too many codes"
