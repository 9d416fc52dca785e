"""Cohorts: many children at once. Batch evaluation in parallel, histories from the DfE's SSDA903 return, and
a compliance audit with charts (docs/cohorts.md)."""

from .audit import Audit, Period, audit_histories, audit_many
from .batch import Outcome, Record, Summary, evaluate_many, evaluate_record, read_records
from .ssda903 import Import, RowFinding, read_ssda903

__all__ = ["Audit", "Import", "Outcome", "Period", "Record", "RowFinding", "Summary", "audit_histories",
           "audit_many", "evaluate_many", "evaluate_record", "read_records", "read_ssda903"]
