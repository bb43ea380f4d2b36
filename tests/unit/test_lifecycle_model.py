"""The payment lifecycle against a model that predicts every result (liveness and safety).

The machine is in ``tests/payments_model.py``: every call the model says is valid must
succeed with exactly the predicted captures, refunds, failures, doubts and holds, and
every refusal must be the predicted error with its attributes.
"""

from __future__ import annotations

from hypothesis import settings

from payments_model import ModelLifecycle

# At least 100 runs even in quick profiles: each run is cheap, and the model's checks bite
# only once a run reaches several captures and refunds on one order.
ModelLifecycle.TestCase.settings = settings(
    max_examples=max(settings().max_examples, 100), stateful_step_count=40, deadline=None
)
TestModelLifecycle = ModelLifecycle.TestCase
