"""The low-code engines: declarative specs (TOML) for forms and workflows, validated at load.

- :mod:`core.lowcode.specs` — reading a spec file safely and reporting what is wrong with it
  (:class:`SpecError`, a list of :class:`SpecProblem`, each naming file, key and line, in Chinese and
  English);
- :mod:`core.lowcode.forms` — form specs (:class:`FormSpec`), loading them and validating a submission;
- :mod:`core.lowcode.registry` — the shared forms in ``forms/``;
- :mod:`core.lowcode.workflow` — workflow specs (:class:`~core.lowcode.workflow.WorkflowSpec`): loading,
  checking the graph (every state can reach an end), and the pure runtime (``available``, ``apply``,
  the chair's ``override`` with a reason);
- :mod:`core.lowcode.workflows` — the shared workflows in ``forms/workflows/`` and core's guard names.

Rendering is done by the Jinja macros in ``core/templates/lowcode/form.html``. The reference for spec
authors is docs/lowcode.md (forms) and docs/lowcode-workflows.md (workflows).
"""

from core.lowcode.specs import SpecError, SpecProblem

__all__ = ["SpecError", "SpecProblem"]
