"""What a run returns: each host's result (with its batch and times) and the batch hooks that ran."""

from __future__ import annotations

from dataclasses import dataclass, field

from configurator.engine import converge as apply
from configurator.engine.batches import Batch
from configurator.engine.hooks import HookRun
from configurator.engine.status import HostStatus


@dataclass
class HostResult:
    """The result of one host's run."""

    host: str
    status: HostStatus = HostStatus.OK
    outcome: apply.Outcome = field(default_factory=apply.Outcome)
    error: str = ""
    round_trips: int = 0
    seconds: float = 0.0
    nodelay: bool = False
    started: float | None = None  # seconds since the epoch; None when the host was never started
    ended: float | None = None
    batch: Batch | None = None  # the batch of the rollout it ran in
    # skipped only because a host it waits for (`after_success`) failed: that host decides the exit code
    consequence: bool = False

    def __post_init__(self) -> None:
        self.status = HostStatus(self.status)  # a plain string from a caller becomes the enum

    @property
    def label(self) -> str:
        """Its batch as people read it: `apps 2/3`, `at once`, or empty outside a rollout."""
        return self.batch.label if self.batch is not None else ""


class Results(list[HostResult]):
    """The hosts' results in report order, and the batch hooks of the run in the order they ran."""

    def __init__(self, results: list[HostResult], hooks: list[HookRun] | None = None) -> None:
        super().__init__(results)
        self.hooks: list[HookRun] = list(hooks or [])

    @property
    def hooks_failed(self) -> bool:
        """Whether a batch hook failed (the run then failed, even if every host it reached converged)."""
        return any(not h.ok for h in self.hooks)
