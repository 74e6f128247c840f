"""Namespaces and element classes of BPMN 2.0, and how BPMN ids become petriflow ids."""

from __future__ import annotations

import hashlib
import re

BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
PF = "https://petriflow.dev/bpmn"
CAMUNDA = ("http://camunda.org/schema/1.0/bpmn", "http://activiti.org/bpmn")
ZEEBE = "http://camunda.org/schema/zeebe/1.0"
XSI = "http://www.w3.org/2001/XMLSchema-instance"

TASKS = {"task", "userTask", "manualTask", "serviceTask", "sendTask", "scriptTask",
         "businessRuleTask", "receiveTask"}
EVENTS = {"startEvent", "endEvent", "intermediateCatchEvent", "intermediateThrowEvent",
          "boundaryEvent"}
GATEWAYS = {"exclusiveGateway", "parallelGateway", "inclusiveGateway", "eventBasedGateway",
            "complexGateway"}
CONTAINERS = {"subProcess", "transaction", "adHocSubProcess"}
ACTIVITIES = TASKS | CONTAINERS | {"callActivity"}
FLOW_NODES = TASKS | EVENTS | GATEWAYS | CONTAINERS | {"callActivity"}

# Read and ignored: they cannot change how a case runs.
IGNORED = {"documentation", "extensionElements", "textAnnotation", "association", "group",
           "dataObject", "dataObjectReference", "dataStoreReference", "dataStore",
           "dataInput", "dataOutput", "dataInputAssociation", "dataOutputAssociation",
           "ioSpecification", "property", "incoming", "outgoing", "laneSet", "category",
           "auditing", "monitoring", "supportedInterfaceRef", "ioBinding", "resourceRole",
           "performer", "humanPerformer", "potentialOwner", "rendering", "script",
           "conditionExpression", "loopCharacteristics"}
EVENT_DEFINITIONS = ("messageEventDefinition", "timerEventDefinition", "errorEventDefinition",
                     "escalationEventDefinition", "signalEventDefinition",
                     "conditionalEventDefinition", "linkEventDefinition",
                     "compensateEventDefinition", "cancelEventDefinition",
                     "terminateEventDefinition")

_BAD = re.compile(r"[^A-Za-z0-9_]")
MAX_ID = 100


def sanitize(text: str, limit: int = MAX_ID) -> str:
    """A petriflow identifier for a BPMN id or name (letters, digits, ``_``), at most
    ``limit`` characters (a longer one keeps its start and a digest of the whole)."""
    out = _BAD.sub("_", text.strip()) or "_"
    if out[0].isdigit():
        out = "_" + out
    if len(out) > limit:
        digest = hashlib.sha1(out.encode()).hexdigest()[:10]
        out = out[: limit - 11] + "_" + digest
    return out


__all__ = ["ACTIVITIES", "BPMN", "CAMUNDA", "CONTAINERS", "EVENTS", "EVENT_DEFINITIONS",
           "FLOW_NODES", "GATEWAYS", "IGNORED", "PF", "TASKS", "XSI", "ZEEBE", "sanitize"]
