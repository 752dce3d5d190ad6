Feature: product — a user registers, then receives the welcome mail
  Two components, one runtime, the same backends: the user-repository guest
  stores the user in SQLite; the email-service guest renders the welcome
  template from RocksDB and sends it through the SMTP server. The layers meet
  only through the data the host keeps.

  Background:
    Given a fresh SQL database
    And the template "welcome" in RocksDB has subject "Welcome, {{name}}" and body "Hello {{name}}, your code is {{code}}."

  Scenario: registering sends the welcome mail to the stored address
    When the repository calls create-user({email: "New.User@Example.COM", display-name: "New User", preferences: {locale: en, channels: {email}, marketing-opt-in: false}})
    Then the ok value is remembered as $id
    When the repository calls find-by-email("New.User@example.com")
    Then the result is ok({id: $id, email: "New.User@example.com", display-name: "New User", preferences: {locale: en, channels: {email}, marketing-opt-in: false, timezone: none}, created-at: _})
    And the ok value is remembered as $user
    And the users row on disk is $user
    When the email service sends "welcome" to the stored user $user with code "K-1"
    Then the SMTP server received 1 message
    And message 1 went to "New.User@example.com" only, with subject "Welcome, New User"
    And message 1 has the body "Hello New User, your code is K-1."
    And message 1 has the Message-ID $sent
    And RocksDB holds the record of message $sent to "New.User@example.com"

  Scenario: an unknown user gets no mail
    When the repository calls find-by-email("ghost@example.com")
    Then the result is err(not-found)
    And the SMTP server received 0 messages

  Scenario: changed preferences are what the repository finds, and its refusals keep their cases
    When the repository calls create-user({email: "ann@example.com", display-name: "Ann", preferences: {locale: en, channels: {email}, marketing-opt-in: false}})
    Then the ok value is remembered as $id
    When the repository calls update-preferences($id, {locale: ja, channels: {sms, push}, marketing-opt-in: true, timezone: some("Asia/Tokyo")})
    Then the result is ok
    When the repository calls find-by-email("ann@example.com")
    Then the result is ok({id: $id, email: "ann@example.com", display-name: "Ann", preferences: {locale: ja, channels: {sms, push}, marketing-opt-in: true, timezone: some("Asia/Tokyo")}, created-at: _})
    And the ok value is remembered as $user
    And the users row on disk is $user
    When the repository calls update-preferences(999999, {locale: en, channels: {}, marketing-opt-in: false})
    Then the result is err(not-found)
    When the repository calls create-user({email: "ann@example.com", display-name: "Ann again", preferences: {locale: en, channels: {}, marketing-opt-in: false}})
    Then the result is err(duplicate-email(_))

  Scenario: a newsletter reaches every stored user, one message each
    When the repository calls create-user({email: "a@example.com", display-name: "A", preferences: {locale: en, channels: {email}, marketing-opt-in: true}})
    And the repository calls create-user({email: "b@example.com", display-name: "B", preferences: {locale: de, channels: {email}, marketing-opt-in: true}})
    And the email service calls send-bulk(["a@example.com", "b@example.com"], "welcome", [("name", "Reader"), ("code", "N-1")])
    Then the ok value is remembered as $ids
    And $ids holds 2 distinct message ids
    And the SMTP server received 2 messages, one to each of the users on disk
    And the Message-IDs received are $ids
    When the email service calls send-bulk(["a@example.com", "not an address"], "welcome", [("name", "Reader"), ("code", "N-2")])
    Then the result is err(invalid-recipient("not an address"))
    When the email service calls send-transactional("a@example.com", "no-such-template", [])
    Then the result is err(unknown-template("no-such-template"))
    And the SMTP server received 2 messages
