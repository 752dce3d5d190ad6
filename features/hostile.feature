@mutants:none
Feature: hostile — a guest that misbehaves costs one cell, never the run
  The wat-hostile guest (a 2 KB hand-written core module) misbehaves on purpose;
  c-p1-hostile does the same over the WASI p1 bridge, where the bad string and
  the bad variant are a length past the end of its frame and an index naming no case.
  A conformant runtime contains each misbehaviour in the call that caused it:
  the matrix shows the outcome the runtime produced (timeout, trap) with its own
  message, and the next scenario runs on a fresh instance as if nothing happened.
  These scenarios judge how a runtime contains a guest, not what it returns,
  so `keel-conformance mutate` makes no mutants for them (@mutants:none).

  Tags decided here:
  - `@outcome:NAME` — the outcome conformance requires (the cell still shows
    what really happened, and is marked "expected" when it matches)
  - `@timeout:SECONDS` — this scenario's call deadline
  - `@needs:CAPABILITY` — runtimes whose runner lacks it are n/a

  Scenario: a well-behaved call answers
    When the guest calls ping(41)
    Then the result is 42

  @outcome:timeout @timeout:2
  Scenario: an endless loop is stopped by the call deadline
    When the guest calls spin()

  Scenario: a fresh instance answers after a loop was stopped
    When the guest calls ping(1)
    Then the result is 2

  @outcome:trap
  Scenario: unreachable is a trap, with the runtime's message
    When the guest calls crash()

  @needs:memory-limit
  Scenario: unbounded memory growth stops at the per-instance cap
    When the guest calls grow()
    Then the result is below the per-instance memory cap in pages

  @outcome:trap
  Scenario: a string whose pointer lies past the end of memory is refused
    When the guest calls bad-string()

  @outcome:trap
  Scenario: a variant discriminant that names no case is refused
    When the guest calls bad-variant()

  @needs:separate-process @outcome:crash
  Scenario: the runtime's process dies under the guest
    When the guest calls ping(1)
    And the process hosting the guest is killed
    And the guest calls ping(2)

  Scenario: a fresh runtime process answers after one died
    When the guest calls ping(2)
    Then the result is 3
