@kafka
Feature: What the process engine sees over Kafka
  The engine sends its requests on Kafka topics and waits for the replies on others. It ties a
  reply to its process by the headers and the key it sent, so they come back unchanged. Kafka
  may deliver a request twice; the person must still get one code.

  Scenario: The reply carries the engine's headers and key unchanged
    When the engine asks over Kafka for a code by SMS for client "c1" with its usual headers
    Then the engine receives a reply that says the code was sent
    And the reply carries exactly the request's headers and key
    And the reply names the engine's process as a number, as the engine keeps it

  Scenario: A request delivered twice is answered the same way and sends one message
    Given the engine asked over Kafka for a code by SMS for client "c1" and got its reply
    When Kafka delivers the same request again
    Then the engine receives the same reply again
    And the person received exactly one SMS

  Scenario: A message the service cannot read is set aside and the engine is told
    When the engine sends a message that is not JSON for one of its processes
    Then the engine receives a reply that says "INVALID_REQUEST"
    And the unreadable message is set aside as it came, with the reason
    And a following request is still answered
