"""Example saga.v1 Participant in Python: a payment service (charge / refund).

The reusable pieces for other Python participants are `barrier` (exactly-once step
execution on SQLite), `faults` (the language-neutral test fault switches) and
`step_runner` (the order in which deadline, faults and barrier are applied).
"""
