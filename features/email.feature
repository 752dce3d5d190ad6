Feature: email — templated mail through kv and a real SMTP server
  The email-service guest imports only `keel:infrastructure/kv` and
  `keel:business/mail-transport`. Templates live in RocksDB as JSON under
  `template/<id>` ({"sender", "subject", "body"} with `{{name}}` placeholders);
  each sent message is recorded under `message/<message-id>`. The host sends
  through a real SMTP server on 127.0.0.1 that the suite runs, and the steps
  read what that server received.

  Rules decided here:
  - every placeholder must have a variable: the first missing one is named in
    `missing-variable`, and nothing is sent
  - recipients follow the repository's address rule; `send-bulk` checks them all
    before sending any, and sends one message per recipient
  - a header value never carries a line break (the guest folds CR/LF into spaces),
    and recipients come from the envelope only, never from headers

  Background:
    Given the template "welcome" in RocksDB has subject "Welcome, {{name}}" and body "Hello {{name}}, your code is {{code}}."

  Scenario: a transactional send renders every variable
    When the guest calls send-transactional("ann@example.com", "welcome", [("name", "Ann"), ("code", "42")])
    Then the ok value is remembered as $id
    And the SMTP server received 1 message
    And message 1 went to "ann@example.com" only, with subject "Welcome, Ann"
    And message 1 has the body "Hello Ann, your code is 42."
    And message 1 has the Message-ID $id
    And RocksDB holds the record of message $id to "ann@example.com"

  Scenario: a missing variable is named and nothing is sent
    When the guest calls send-transactional("ann@example.com", "welcome", [("name", "Ann")])
    Then the result is err(missing-variable("code"))
    And the SMTP server received 0 messages

  Scenario: an unknown template is unknown-template
    When the guest calls send-transactional("ann@example.com", "no-such-template", [])
    Then the result is err(unknown-template("no-such-template"))
    And the SMTP server received 0 messages

  Scenario Outline: an invalid recipient is invalid-recipient
    When the guest calls send-transactional("<to>", "welcome", [("name", "A"), ("code", "1")])
    Then the result is err(invalid-recipient("<to>"))
    And the SMTP server received 0 messages

    Examples:
      | to                          |
      |                             |
      | not-an-address              |
      | ann@example                 |
      | ann@example.com, b@evil.com |
      | ann@example.com>            |

  Scenario: a bulk send to 50 recipients sends 50 messages with 50 distinct ids
    Given $recipients is a list of 50 addresses "user-NN@example.com"
    When the guest calls send-bulk($recipients, "welcome", [("name", "all"), ("code", "7")])
    Then the ok value is remembered as $ids
    And $ids holds 50 distinct message ids
    And the SMTP server received 50 messages, one to each of $recipients
    And the Message-IDs received are $ids

  Scenario: one bad address in a bulk send stops it before anything is sent
    When the guest calls send-bulk(["a@example.com", "b@@example.com", "c@example.com"], "welcome", [("name", "x"), ("code", "1")])
    Then the result is err(invalid-recipient("b@@example.com"))
    And the SMTP server received 0 messages

  Scenario: a stopped SMTP server is a transport error
    Given the SMTP server is stopped
    When the guest calls send-transactional("ann@example.com", "welcome", [("name", "Ann"), ("code", "42")])
    Then the result is err(transport(_))

  Scenario: the server is back for the next scenario
    When the guest calls send-transactional("ann@example.com", "welcome", [("name", "Ann"), ("code", "1")])
    Then the result is ok(_)
    And the SMTP server received 1 message

  Scenario: a line break in a variable cannot inject a header or a recipient
    Given the template "greeting" in RocksDB has subject "Hi {{name}}" and body "Hi."
    When the guest calls send-transactional("ann@example.com", "greeting", [("name", "x\r\nBcc: evil@example.com")])
    Then the result is ok(_)
    And the SMTP server received 1 message
    And message 1 went to "ann@example.com" only, with subject "Hi x  Bcc: evil@example.com"
    And message 1 has no "Bcc" header
