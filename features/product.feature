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
    Then the ok value is remembered as $user
    When the email service sends "welcome" to the stored user $user with code "K-1"
    Then the SMTP server received 1 message
    And message 1 went to "New.User@example.com" only, with subject "Welcome, New User"
    And message 1 has the body "Hello New User, your code is K-1."
    And RocksDB holds the record of message $sent to "New.User@example.com"

  Scenario: an unknown user gets no mail
    When the repository calls find-by-email("ghost@example.com")
    Then the result is err(not-found)
    And the SMTP server received 0 messages
