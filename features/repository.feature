Feature: repository — users on SQL through the user-repository component
  The user-repository guest imports only `keel:infrastructure/sql`; the host runs
  its statements on a real SQLite file. The table layout is part of the contract,
  so steps read the file itself and a guest answering from memory fails:
    users(id, email UNIQUE, display_name, locale, channels, marketing_opt_in, timezone, created_at)
  with `channels` as bits (email 1, sms 2, push 4) and `locale` as its name.

  Rules decided here:
  - an address is `local@domain`: exactly one `@`; a local part of 1-64 characters
    without whitespace, control characters or `<>()[],;:"\`; a domain of at least two
    dot-separated labels of letters, digits and inner hyphens; 254 characters in all
  - the domain compares case-insensitively and is stored lower-cased; the local part
    is compared and stored exactly as given (RFC 5321 leaves it to the receiving host)
  - created-at is milliseconds since the Unix epoch by the guest's wall clock and
    never decreases from one created user to the next

  Background:
    Given a fresh SQL database

  Scenario Outline: create then find round-trips every field
    When the guest calls create-user({email: "<email>", display-name: "<name>", preferences: {locale: <locale>, channels: <channels>, marketing-opt-in: <opt-in>, timezone: <timezone>}})
    Then the ok value is remembered as $id
    When the guest calls find-by-email("<email>")
    Then the result is ok({id: $id, email: "<email>", display-name: "<name>", preferences: {locale: <locale>, channels: <channels>, marketing-opt-in: <opt-in>, timezone: <timezone>}, created-at: _})
    And the ok value is remembered as $user
    And the users table on disk holds "<email>" named "<name>" with locale "<locale>" and channel bits <bits>
    And the users row on disk is $user

    Examples:
      | email                 | name              | locale | channels          | bits | opt-in | timezone                 |
      | ann@example.com       | Ann               | en     | {}                | 0    | false  | none                     |
      | bernd@example.de      | Bernd Müller      | de     | {email}           | 1    | true   | some("Europe/Berlin")    |
      | chloe@example.fr      | Chloé             | fr     | {sms}             | 2    | false  | some("Europe/Paris")     |
      | diego@example.es      | Diego 🚀          | es     | {push}            | 4    | true   | none                     |
      | yamada@example.jp     | 山田太郎          | ja     | {email, sms, push} | 7   | false  | some("Asia/Tokyo")       |
      | x.y+tag@sub.example.org | Zoë \u{1F600}   | en     | {email, push}     | 5    | true   | some("")                 |

  Scenario: a second user with the same address is duplicate-email
    Given the guest has registered "ann@example.com" as "Ann"
    When the guest calls create-user({email: "ann@example.com", display-name: "Other Ann", preferences: {locale: en, channels: {}, marketing-opt-in: false}})
    Then the result is err(duplicate-email(_))
    And the users table on disk has 1 row

  Scenario: the domain part compares case-insensitively and is stored lower-cased
    Given the guest has registered "Ann@Example.COM" as "Ann"
    When the guest calls find-by-email("Ann@example.com")
    Then the result is ok({id: _, email: "Ann@example.com", display-name: "Ann", preferences: _, created-at: _})
    When the guest calls create-user({email: "Ann@EXAMPLE.com", display-name: "Again", preferences: {locale: en, channels: {}, marketing-opt-in: false}})
    Then the result is err(duplicate-email(_))
    And the users table on disk holds the address "Ann@example.com"

  Scenario: the local part compares exactly
    Given the guest has registered "ann@example.com" as "Ann"
    When the guest calls create-user({email: "ANN@example.com", display-name: "Loud Ann", preferences: {locale: en, channels: {}, marketing-opt-in: false}})
    Then the ok value is remembered as $loud
    And the users table on disk has 2 rows
    When the guest calls find-by-email("ANN@example.com")
    Then the result is ok({id: $loud, email: "ANN@example.com", display-name: "Loud Ann", preferences: {locale: en, channels: {}, marketing-opt-in: false, timezone: none}, created-at: _})
    And the ok value is remembered as $user
    And the users row on disk is $user
    When the guest calls find-by-email("Ann@example.com")
    Then the result is err(not-found)

  Scenario Outline: malformed addresses are invalid-email and nothing is stored
    When the guest calls create-user({email: "<email>", display-name: "X", preferences: {locale: en, channels: {}, marketing-opt-in: false}})
    Then the result is err(invalid-email("<email>"))
    When the guest calls find-by-email("<email>")
    Then the result is err(invalid-email("<email>"))
    And the users table on disk has 0 rows

    Examples:
      | email                    |
      |                          |
      | plainaddress             |
      | @example.com             |
      | ann@                     |
      | ann@example              |
      | ann@@example.com         |
      | ann@exa@mple.com         |
      | ann smith@example.com    |
      | ann@example..com         |
      | ann@-example.com         |
      | ann@example.com.         |
      | <ann>@example.com        |
      | ann\n@example.com        |
      | ann@exa_mple.com         |

  Scenario: an unknown address is not-found
    When the guest calls find-by-email("nobody@example.com")
    Then the result is err(not-found)

  Scenario: update-preferences persists every field
    Given the guest has registered "ann@example.com" as "Ann"
    When the guest calls update-preferences($ann, {locale: ja, channels: {sms, push}, marketing-opt-in: true, timezone: some("Asia/Tokyo")})
    Then the result is ok
    When the guest calls find-by-email("ann@example.com")
    Then the result is ok({id: $ann, email: "ann@example.com", display-name: "Ann", preferences: {locale: ja, channels: {sms, push}, marketing-opt-in: true, timezone: some("Asia/Tokyo")}, created-at: _})
    And the ok value is remembered as $user
    And the users table on disk holds "ann@example.com" named "Ann" with locale "ja" and channel bits 6
    And the users row on disk is $user

  Scenario: update-preferences of an unknown id is not-found
    Given the guest has registered "ann@example.com" as "Ann"
    When the guest calls update-preferences(999999, {locale: en, channels: {}, marketing-opt-in: false})
    Then the result is err(not-found)

  Scenario: created-at follows the wall clock and never decreases
    Given the guest has registered "a@example.com" as "A"
    And the guest has registered "b@example.com" as "B"
    And the guest has registered "c@example.com" as "C"
    Then created-at of "a@example.com", "b@example.com", "c@example.com" never decreases
    And every created-at is within 60 seconds of the host's clock
