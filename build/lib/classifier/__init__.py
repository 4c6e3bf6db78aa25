"""Decides what an alert means for the customer: service-affecting incident or silent fault."""

from classifier.binding import Binding, UnknownCustomer, bind
from classifier.decide import Classification, Classifier, ClassifierSettings
from classifier.inventory import Curator, Customer, Match, Service
from classifier.rules import Rule, RulePack, load_pack

__all__ = [
    "Binding",
    "Classification",
    "Classifier",
    "ClassifierSettings",
    "Curator",
    "Customer",
    "Match",
    "Rule",
    "RulePack",
    "Service",
    "UnknownCustomer",
    "bind",
    "load_pack",
]
