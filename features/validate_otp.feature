Feature: Checking a one-time password
  After the person receives a code, the flow sends what they typed. The code is accepted
  once, only within its lifetime, and only a few wrong tries are allowed.

  Background:
    Given a code was sent to client "1871201460101" by SMS

  @policy
  Scenario: The right code is accepted
    When the person types the code they received
    Then the reply says the code is valid

  @policy
  Scenario: A wrong code is refused without telling how many tries are left
    When the person types a wrong code
    Then the reply says the code is not valid because of "OTP_MISMATCH"
    And the error does not tell how many tries are left

  @policy
  Scenario: An expired code is refused
    When 11 minutes pass
    And the person types the code they received
    Then the reply says the code is not valid because of "OTP_EXPIRED"

  @policy
  Scenario: Too many wrong tries burn the code
    When the person types a wrong code 5 times
    And the person types the code they received
    Then the reply says the code is not valid because of "OTP_ATTEMPTS_EXCEEDED"

  @policy
  Scenario: A code replaced by a newer one no longer works
    When 1 minutes pass
    And a new code is sent to client "1871201460101" by SMS
    And the person types the first code
    Then the reply says the code is not valid because of "OTP_MISMATCH"
    And the newest code is still accepted

  @policy
  Scenario: A code works only once
    When the person types the code they received
    And the person types the code they received
    Then the reply says the code is not valid because of "OTP_NOT_FOUND"
