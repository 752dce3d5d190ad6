Feature: kv — key-value storage through the canonical ABI
  A kv-probe guest forwards each call to the host's `keel:infrastructure/kv`,
  which stores into a real RocksDB database, and returns what it got back.
  Values in the tables are WAVE text typed by the guest's own exports.

  Rules decided here:
  - keys are non-empty UTF-8 of at most 1024 bytes; an empty key is `invalid-key`
  - `get` of a missing key is `ok(none)`, not an error
  - `list-keys` returns keys in UTF-8 byte order; `next-cursor` is the last key
    of the page when more keys follow, and `none` on the last page
  - keys come back from `list-keys` whole: as long, and with the same code points, as stored
  - a `list-keys` limit of 0 asks for pages that hold nothing: `backend`, not an empty page

  Background:
    Given a fresh key-value store

  Scenario Outline: binary values round-trip unchanged
    When the guest calls set("<key>", <value>)
    Then the result is ok
    And RocksDB holds "<key>" = <value>
    When the guest calls get("<key>")
    Then the result is ok(some(<value>))

    Examples:
      | key        | value                     |
      | empty      | []                        |
      | one-zero   | [0]                       |
      | all-ones   | [255, 255, 255]           |
      | mixed      | [0, 1, 127, 128, 254, 255] |

  Scenario Outline: large values round-trip unchanged
    Given $blob is <size> pseudo-random bytes
    When the guest calls set("big", $blob)
    Then the result is ok
    And RocksDB holds "big" = $blob
    When the guest calls get("big")
    Then the result is ok(some($blob))

    Examples:
      | size    |
      | 65536   |
      | 1048576 |

  Scenario: a missing key reads as none
    When the guest calls get("never-written")
    Then the result is ok(none)

  Scenario: setting a key again replaces its value
    When the guest calls set("k", [1, 2, 3])
    And the guest calls set("k", [9])
    And the guest calls get("k")
    Then the result is ok(some([9]))

  Scenario: delete reports whether something was deleted
    When the guest calls set("doomed", [1])
    And the guest calls delete("doomed")
    Then the result is ok(true)
    And RocksDB has no key "doomed"
    When the guest calls delete("doomed")
    Then the result is ok(false)
    When the guest calls get("doomed")
    Then the result is ok(none)

  Scenario: exists follows set and delete
    When the guest calls exists("e")
    Then the result is ok(false)
    When the guest calls set("e", [])
    And the guest calls exists("e")
    Then the result is ok(true)
    When the guest calls delete("e")
    And the guest calls exists("e")
    Then the result is ok(false)

  Scenario Outline: unicode keys are stored as their UTF-8 bytes
    When the guest calls set("<key>", [7])
    Then the result is ok
    And RocksDB holds "<key>" = [7]
    When the guest calls get("<key>")
    Then the result is ok(some([7]))

    Examples:
      | key              |
      | café             |
      | 日本語のキー      |
      | emoji-🦀-crab    |
      | \u{10ffff}-max   |

  Scenario Outline: malformed keys are invalid-key for every operation
    When the guest calls <call>
    Then the result is err(invalid-key(_))

    Examples:
      | call                     |
      | set("", [1])             |
      | get("")                  |
      | delete("")               |
      | exists("")               |

  Scenario: the key length limit is 1024 bytes of UTF-8
    Given $edge is the text "k" repeated 1024 times
    And $over is the text "k" repeated 1025 times
    And $wide is the text "é" repeated 513 times
    When the guest calls set($edge, [1])
    Then the result is ok
    When the guest calls set($over, [1])
    Then the result is err(invalid-key(_))
    When the guest calls set($wide, [1])
    Then the result is err(invalid-key(_))

  Scenario: list-keys pages through a prefix in byte order with a cursor
    Given the guest has stored 10 keys "page/NN"
    And the guest has stored 3 keys "other/NN"
    When the guest lists keys with prefix "page/" 3 at a time
    Then there were 4 pages of at most 3 keys
    And together the pages hold "page/00" to "page/09" in byte order

  Scenario: a page that ends exactly at the last key has no next cursor
    Given the guest has stored 4 keys "even/NN"
    When the guest calls list-keys("even/", none, 4)
    Then the result is ok({keys: ["even/00", "even/01", "even/02", "even/03"], next-cursor: none})

  Scenario: list-keys orders by UTF-8 bytes, not by code points in UTF-16
    When the guest calls set("o/\u{ffff}", [1])
    And the guest calls set("o/\u{10000}", [2])
    And the guest calls set("o/z", [3])
    And the guest calls list-keys("o/", none, 10)
    Then the result is ok({keys: ["o/z", "o/\u{ffff}", "o/\u{10000}"], next-cursor: none})

  Scenario: long and non-BMP keys are listed whole
    Given $edge is the text "k" repeated 1024 times
    When the guest calls set($edge, [1])
    And the guest calls set("emoji/😀", [2])
    And the guest calls set("\u{10ffff}", [3])
    And the guest calls list-keys("", none, 10)
    Then the result is ok({keys: ["emoji/😀", $edge, "\u{10ffff}"], next-cursor: none})

  Scenario: a list-keys limit of 0 is an error
    Given the guest has stored 2 keys "z/NN"
    When the guest calls list-keys("z/", none, 0)
    Then the result is err(backend(_))

  Scenario: an empty prefix lists every key
    Given the guest has stored 2 keys "a/NN"
    When the guest calls list-keys("", none, 100)
    Then the result is ok({keys: ["a/00", "a/01"], next-cursor: none})
