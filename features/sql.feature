Feature: sql — relational storage through the canonical ABI
  A sql-probe guest forwards each call to the host's `keel:infrastructure/sql`,
  which runs it on a real SQLite database file, and returns what it got back.
  Transactions are the host's `transaction` resource: the guest holds the
  handle, and the scenario names it through the probe's table (`$tx`).

  Rules decided here:
  - parameters are always bound, never spliced into the statement
  - a NaN `real` parameter is refused with `type-mismatch`: SQLite would
    store NULL, and a conformant host never changes a value silently.
    (The canonical ABI may change a NaN's payload bits, so only NaN-ness
    is observable across runtimes; refusing it is the same on all of them.)
  - a transaction's writes are visible to nobody else until `commit`;
    dropping its handle without `commit` or `rollback` rolls it back
  - one transaction at a time: `begin-transaction` while one is open is `busy`
  - a `commit` that a deferred constraint refuses is `constraint-violation`, and
    the transaction's writes are gone
  - a transaction that its own COMMIT or ROLLBACK statement ended is `closed`

  Background:
    Given a fresh SQL database
    And the guest has run "CREATE TABLE items (id INTEGER PRIMARY KEY, v ANY) STRICT"

  Scenario Outline: every sql-value kind round-trips
    When the guest calls execute("INSERT INTO items (v) VALUES (?1)", [<value>])
    Then the result is ok(1)
    When the guest calls query("SELECT v FROM items", [])
    Then the result is ok({columns: ["v"], rows: [{values: [<value>]}]})
    And the database file holds <value> in items.v

    Examples:
      | value                          |
      | null                           |
      | integer(0)                     |
      | integer(-9223372036854775808)  |
      | integer(9223372036854775807)   |
      | real(3.25)                     |
      | real(-0.0)                     |
      | real(1e308)                    |
      | real(inf)                      |
      | real(-inf)                     |
      | text("")                       |
      | text("héllo wörld 🌍")          |
      | text("nul\0inside")            |
      | blob([])                       |
      | blob([0, 255, 1, 254])         |

  Scenario Outline: every sql-value kind round-trips inside a transaction
    When the guest calls begin-transaction()
    Then the ok value is remembered as $tx
    When the guest calls tx-execute($tx, "INSERT INTO items (v) VALUES (?1)", [<value>])
    Then the result is ok(1)
    When the guest calls tx-query($tx, "SELECT v FROM items", [])
    Then the result is ok({columns: ["v"], rows: [{values: [<value>]}]})
    When the guest calls tx-commit($tx)
    Then the result is ok
    And the database file holds <value> in items.v

    Examples:
      | value                          |
      | null                           |
      | integer(9223372036854775807)   |
      | real(3.25)                     |
      | text("héllo wörld 🌍")          |
      | blob([0, 255, 1, 254])         |

  Scenario: result columns carry their names, rows keep their order
    When the guest calls execute("INSERT INTO items (id, v) VALUES (1, 'a'), (2, 'b')", [])
    And the guest calls query("SELECT id AS first, v AS second, NULL AS third FROM items ORDER BY id", [])
    Then the result is ok({columns: ["first", "second", "third"], rows: [{values: [integer(1), text("a"), null]}, {values: [integer(2), text("b"), null]}]})

  Scenario: a query with no rows still names its columns
    When the guest calls query("SELECT id, v FROM items", [])
    Then the result is ok({columns: ["id", "v"], rows: []})

  Scenario: execute returns the number of rows changed
    When the guest calls execute("INSERT INTO items (v) VALUES (1), (2), (3)", [])
    Then the result is ok(3)
    When the guest calls execute("UPDATE items SET v = v + 10 WHERE v >= ?1", [integer(2)])
    Then the result is ok(2)
    When the guest calls execute("DELETE FROM items WHERE v = ?1", [integer(999)])
    Then the result is ok(0)

  Scenario Outline: errors map to their sql-error case
    When the guest calls <call>
    Then the result is err(<error>)
    And the error message contains "<mentions>"

    Examples:
      | call                                                         | error                   | mentions         |
      | query("SELEC * FROM items", [])                              | syntax(_)               | syntax error     |
      | execute("INSERT INTO items (v) VALUES (", [])                | syntax(_)               | incomplete input |
      | query("SELECT * FROM missing_table", [])                     | no-such-table(_)        | missing_table    |
      | execute("INSERT INTO missing_table VALUES (1)", [])          | no-such-table(_)        | missing_table    |
      | execute("INSERT INTO items (id, v) VALUES (1, 1), (1, 2)", []) | constraint-violation(_) | UNIQUE           |
      | execute("INSERT INTO items (id, v) VALUES (?1, ?2)", [integer(1)]) | type-mismatch(_)    | bindings         |
      | execute("INSERT INTO items (id) VALUES (?1)", [text("x")])   | type-mismatch(_)        | mismatch         |

  Scenario: a failed statement changes nothing
    When the guest calls execute("INSERT INTO items (id, v) VALUES (1, 'kept')", [])
    And the guest calls execute("INSERT INTO items (id, v) VALUES (2, 'x'), (1, 'dup')", [])
    Then the result is err(constraint-violation(_))
    And the database file has 1 row in items

  Scenario: a hostile parameter stays data
    When the guest calls execute("CREATE TABLE users (name TEXT)", [])
    And the guest calls execute("INSERT INTO users (name) VALUES (?1)", [text("'; DROP TABLE users;--")])
    Then the result is ok(1)
    When the guest calls query("SELECT name FROM users", [])
    Then the result is ok({columns: ["name"], rows: [{values: [text("'; DROP TABLE users;--")]}]})
    And the database file has 1 row in users

  Scenario: NaN in a real parameter is refused and nothing is stored
    When the guest calls execute("INSERT INTO items (v) VALUES (?1)", [real(nan)])
    Then the result is err(type-mismatch(_))
    And the error message contains "NaN"
    And the database file has 0 rows in items

  Scenario: a committed transaction is visible to everyone
    When the guest calls begin-transaction()
    Then the ok value is remembered as $tx
    When the guest calls tx-execute($tx, "INSERT INTO items (v) VALUES (?1)", [text("committed")])
    Then the result is ok(1)
    When the guest calls tx-query($tx, "SELECT v FROM items", [])
    Then the result is ok({columns: ["v"], rows: [{values: [text("committed")]}]})
    And the database file has 0 rows in items
    When the guest calls query("SELECT count(*) AS n FROM items", [])
    Then the result is ok({columns: ["n"], rows: [{values: [integer(0)]}]})
    When the guest calls tx-commit($tx)
    Then the result is ok
    And the database file has 1 row in items
    When the guest calls query("SELECT v FROM items", [])
    Then the result is ok({columns: ["v"], rows: [{values: [text("committed")]}]})

  Scenario: a rolled-back transaction leaves no trace
    When the guest calls begin-transaction()
    Then the ok value is remembered as $tx
    When the guest calls tx-execute($tx, "INSERT INTO items (v) VALUES (1), (2)", [])
    Then the result is ok(2)
    When the guest calls tx-rollback($tx)
    Then the result is ok
    And the database file has 0 rows in items
    And the host holds no open transaction

  Scenario: dropping an open transaction rolls it back
    When the guest calls begin-transaction()
    Then the ok value is remembered as $tx
    When the guest calls tx-execute($tx, "INSERT INTO items (v) VALUES ('dropped')", [])
    Then the result is ok(1)
    When the guest calls tx-drop($tx)
    Then the host holds no open transaction
    And the database file has 0 rows in items
    When the guest calls query("SELECT count(*) AS n FROM items", [])
    Then the result is ok({columns: ["n"], rows: [{values: [integer(0)]}]})

  Scenario: a write outside an open transaction is busy, and the database is unchanged
    When the guest calls begin-transaction()
    Then the ok value is remembered as $tx
    When the guest calls execute("INSERT INTO items (v) VALUES ('outside')", [])
    Then the result is err(busy)
    When the guest calls tx-commit($tx)
    Then the result is ok
    And the database file has 0 rows in items

  Scenario: statements in a transaction fail with their own error and the transaction goes on
    When the guest calls begin-transaction()
    Then the ok value is remembered as $tx
    When the guest calls tx-query($tx, "SELECT * FROM nowhere", [])
    Then the result is err(no-such-table(_))
    When the guest calls tx-execute($tx, "INSERT INTO items (id, v) VALUES (7, 42)", [])
    Then the result is ok(1)
    When the guest calls tx-execute($tx, "INSERT INTO items (id, v) VALUES (7, 43)", [])
    Then the result is err(constraint-violation(_))
    When the guest calls tx-commit($tx)
    Then the result is ok
    And the database file has 1 row in items

  Scenario: a second transaction while one is open is busy
    When the guest calls begin-transaction()
    Then the ok value is remembered as $tx
    When the guest calls begin-transaction()
    Then the result is err(busy)
    When the guest calls tx-rollback($tx)
    Then the result is ok
    And the host holds no open transaction

  Scenario: a commit that a deferred constraint refuses is constraint-violation and stores nothing
    Given the guest has run "CREATE TABLE parent (id INTEGER PRIMARY KEY)"
    And the guest has run "CREATE TABLE child (pid INTEGER REFERENCES parent (id) DEFERRABLE INITIALLY DEFERRED)"
    When the guest calls begin-transaction()
    Then the ok value is remembered as $tx
    When the guest calls tx-execute($tx, "INSERT INTO child (pid) VALUES (7)", [])
    Then the result is ok(1)
    When the guest calls tx-commit($tx)
    Then the result is err(constraint-violation(_))
    And the error message contains "FOREIGN KEY"
    And the database file has 0 rows in child
    And the host holds no open transaction

  Scenario Outline: a transaction that its own statement ended is closed
    When the guest calls begin-transaction()
    Then the ok value is remembered as $tx
    When the guest calls tx-execute($tx, "INSERT INTO items (v) VALUES ('early')", [])
    And the guest calls tx-execute($tx, "<statement>", [])
    Then the result is ok(0)
    When the guest calls <finish>($tx)
    Then the result is err(closed)
    And the database file has <rows> in items
    And the host holds no open transaction

    Examples:
      | statement | finish      | rows   |
      | COMMIT    | tx-commit   | 1 row  |
      | ROLLBACK  | tx-rollback | 0 rows |
