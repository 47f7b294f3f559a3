"""The SDK suites' report: one line per check (PASS, FAIL, ERROR or SKIP, then its name: the
test's docstring, else its method's name), shared by every suite in tests/sdk."""

from __future__ import annotations

import sys
import unittest


class OneLine(unittest.TextTestResult):
    def _name(self, test) -> str:
        return test.shortDescription() or test.id().split(".")[-1]

    def _line(self, status, test, detail="") -> None:
        self.stream.writeln(f"{status:5} {self._name(test)}{detail}")
        self.stream.flush()

    def addSuccess(self, test):
        super().addSuccess(test)
        self._line("PASS", test)

    def addFailure(self, test, err):
        super().addFailure(test, err)
        self._line("FAIL", test)

    def addError(self, test, err):
        super().addError(test, err)
        self._line("ERROR", test)

    def addSubTest(self, test, subtest, err):
        super().addSubTest(test, subtest, err)
        if err is not None:
            self._line("FAIL", test, f" {subtest._subDescription()}")

    def addSkip(self, test, reason):
        super().addSkip(test, reason)
        self._line("SKIP", test, f": {reason}")


def run(module_name: str) -> int:
    """Runs every test of the module, one line each; 0 when all passed."""
    suite = unittest.defaultTestLoader.loadTestsFromModule(sys.modules[module_name])
    result = unittest.TextTestRunner(stream=sys.stdout, verbosity=0, resultclass=OneLine).run(suite)
    return 0 if result.wasSuccessful() else 1
