"""JUnit XML → one suite result. Pure: no Django. Parsed with defusedxml with DTDs
forbidden (so no DOCTYPE at all, no entities, no external references): an XML bomb is
refused, not expanded, and so is any report that declares a DOCTYPE."""

from dataclasses import dataclass, field

from defusedxml import DefusedXmlException
from defusedxml import ElementTree as SafeET


class JUnitError(ValueError):
    """The upload is not a JUnit report we can read."""


@dataclass(frozen=True)
class SuiteResult:
    tests: int
    failures: int
    errors: int
    skipped: int
    failing_tests: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return self.tests > 0 and self.failures + self.errors == 0

    def as_details(self) -> dict:
        return {
            "tests": self.tests,
            "failures": self.failures,
            "errors": self.errors,
            "skipped": self.skipped,
            "failing_tests": self.failing_tests,
        }


def parse(body: bytes) -> SuiteResult:
    try:
        root = SafeET.fromstring(body, forbid_dtd=True)
    except DefusedXmlException as error:
        raise JUnitError(f"refused unsafe XML ({type(error).__name__})") from None
    except SafeET.ParseError as error:
        raise JUnitError(f"malformed XML: {error}") from None
    if root.tag not in {"testsuites", "testsuite"}:
        raise JUnitError(f"expected <testsuites> or <testsuite>, got <{root.tag}>")
    cases = list(root.iter("testcase"))
    if not cases:
        return _from_suite_attributes(root)
    failing, failures, errors, skipped = [], 0, 0, 0
    for case in cases:
        name = ".".join(part for part in (case.get("classname"), case.get("name")) if part)
        if case.find("failure") is not None:
            failures += 1
            failing.append(name or "(unnamed test)")
        elif case.find("error") is not None:
            errors += 1
            failing.append(name or "(unnamed test)")
        elif case.find("skipped") is not None:
            skipped += 1
    return SuiteResult(len(cases), failures, errors, skipped, failing)


def _from_suite_attributes(root) -> SuiteResult:
    """A report with counts but no <testcase> elements: sum the innermost suites."""
    leaves = [suite for suite in root.iter("testsuite") if suite.find("testsuite") is None]
    totals = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    for suite in leaves:
        for name in totals:
            try:
                totals[name] += int(suite.get(name, "0") or 0)
            except ValueError:
                raise JUnitError(f"testsuite attribute {name} is not a number") from None
    return SuiteResult(**totals)
