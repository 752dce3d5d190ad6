@mutants:none
Feature: sandbox — a guest reaches nothing of its host
  The py-snoop guest tries the host's environment, files and network through
  WASI. Every runner gives guests an empty WASI context: no environment
  variables, no preopened directories, no network. Conformance is that each
  attempt fails inside the guest and the host is untouched.
  c-p1-snoop asks the same of each runtime's WASI p1 context over the bridge;
  p1 has no call that opens a socket, so there `connect` fails without trying.
  These scenarios judge each runtime's WASI context, not what a guest returns
  (its errors are each runtime's own words), so `keel-conformance mutate` makes
  no mutants for them (@mutants:none).

  Scenario: the guest sees no environment variables
    When the guest calls environment()
    Then the result is []

  Scenario Outline: the guest cannot read host files
    When the guest calls read-file("<path>")
    Then the result is err(_)

    Examples:
      | path               |
      | /etc/passwd        |
      | /proc/self/environ |
      | README.md          |
      | ./pyproject.toml   |

  Scenario Outline: the guest cannot list host directories
    When the guest calls list-dir("<path>")
    Then the result is err(_)

    Examples:
      | path |
      | /    |
      | .    |
      | /tmp |

  Scenario: the guest cannot connect to a server listening on loopback
    Given a TCP server listening on 127.0.0.1 as $port
    When the guest calls connect("127.0.0.1", $port)
    Then the result is err(_)
    And nothing connected to that server

  Scenario: a transaction the guest never drops keeps its lock until the host lets go
    Given a fresh SQL database
    When the guest calls hold-transaction()
    Then the result is ok
    And the host holds 1 open transaction
    And a write from outside the guest finds the database locked
