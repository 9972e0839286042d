//! Journeys across flows: the checks that need every flow at once.
//!
//! A user moves through a graph whose nodes are `(flow, step)` and whose edges
//! are button presses (`goto`, `flow`, `escalate`) and typed answers (`next`).
//! Two faults are reported, each at the file and line of a step involved:
//!
//! - a **cycle**: steps a user can go round without ever reaching an end (the
//!   blocked-user flow sending "No, no fui yo" to the intrusion flow, whose
//!   "No puedo entrar" sends back to the blocked-user flow);
//! - a **long button path**: more than [`MAX_BUTTON_PATH`] steps in a row that a
//!   user who only presses buttons goes through before the conversation ends
//!   or asks for typed data.
//!
//! Corrections (`edit`) are left out of the graph: the engine allows at most
//! [`MAX_EDITS`](super::model::MAX_EDITS) per run, then hides them.

use std::collections::{BTreeSet, HashMap};

use super::model::{Action, FlowDef, Step, StepKind};
use crate::problem::Problem;

/// The most steps a path of button presses may go through, across flows.
pub const MAX_BUTTON_PATH: usize = 12;

type Node<'a> = (&'a str, &'a str);

/// The flows of a folder as one graph.
struct Journeys<'a> {
    flows: HashMap<&'a str, &'a FlowDef>,
    escalation: &'a str,
}

impl<'a> Journeys<'a> {
    fn step(&self, (flow, step): Node<'a>) -> Option<&'a Step> {
        self.flows.get(flow).and_then(|f| f.step(step))
    }

    fn start(&self, flow: &str) -> Option<Node<'a>> {
        self.flows
            .get(flow)
            .map(|f| (f.id.as_str(), f.start.as_str()))
    }

    /// Where each button press leads.
    fn pressed(&self, node: Node<'a>) -> Vec<Node<'a>> {
        let Some(step) = self.step(node) else {
            return Vec::new();
        };
        step.buttons()
            .iter()
            .filter_map(|b| match &b.action {
                Action::Goto(s) => Some((node.0, s.as_str())),
                Action::Flow(id) => self.start(id),
                Action::Escalate(_) => self.start(self.escalation),
                Action::Answer(_) | Action::End | Action::OpenTicket | Action::Edit(_) => None,
            })
            .collect()
    }

    /// Every way on: button presses and the typed answer.
    fn successors(&self, node: Node<'a>) -> Vec<Node<'a>> {
        let mut out = self.pressed(node);
        if let Some(StepKind::Input { next, .. }) = self.step(node).map(|s| &s.kind) {
            out.push((node.0, next.as_str()));
        }
        out
    }

    fn nodes(&self) -> Vec<Node<'a>> {
        let mut out: Vec<Node<'a>> = self
            .flows
            .values()
            .flat_map(|f| f.steps.keys().map(|s| (f.id.as_str(), s.as_str())))
            .collect();
        out.sort_unstable();
        out
    }

    /// Each cycle once (as found by a depth-first search), as its steps in order.
    fn cycles(&self) -> Vec<Vec<Node<'a>>> {
        #[derive(Clone, Copy, PartialEq)]
        enum Mark {
            New,
            OnPath,
            Done,
        }
        let mut mark: HashMap<Node<'a>, Mark> = HashMap::new();
        let mut seen: BTreeSet<Vec<Node<'a>>> = BTreeSet::new();
        let mut out = Vec::new();
        for root in self.nodes() {
            if mark.get(&root).copied().unwrap_or(Mark::New) != Mark::New {
                continue;
            }
            // Iterative DFS: (node, its successors, next successor index).
            let mut path: Vec<(Node<'a>, Vec<Node<'a>>, usize)> =
                vec![(root, self.successors(root), 0)];
            mark.insert(root, Mark::OnPath);
            while let Some((node, succ, i)) = path.last_mut() {
                let Some(&next) = succ.get(*i) else {
                    mark.insert(*node, Mark::Done);
                    path.pop();
                    continue;
                };
                *i += 1;
                match mark.get(&next).copied().unwrap_or(Mark::New) {
                    Mark::New => {
                        mark.insert(next, Mark::OnPath);
                        let succ = self.successors(next);
                        path.push((next, succ, 0));
                    }
                    Mark::OnPath => {
                        let from = path.iter().position(|(n, _, _)| *n == next).unwrap_or(0);
                        let cycle: Vec<Node<'a>> =
                            path[from..].iter().map(|(n, _, _)| *n).collect();
                        let mut key = cycle.clone();
                        key.sort_unstable();
                        if seen.insert(key) {
                            out.push(cycle);
                        }
                    }
                    Mark::Done => {}
                }
            }
        }
        out
    }

    /// The longest path of button presses from `node` (in steps, `node`
    /// included), memoised; only meaningful when there are no cycles.
    fn longest_from(
        &self,
        node: Node<'a>,
        memo: &mut HashMap<Node<'a>, Vec<Node<'a>>>,
    ) -> Vec<Node<'a>> {
        if let Some(p) = memo.get(&node) {
            return p.clone();
        }
        // Guard against a cycle of button presses: count the node alone while
        // it is being explored.
        memo.insert(node, vec![node]);
        let mut best: Vec<Node<'a>> = Vec::new();
        for next in self.pressed(node) {
            let p = self.longest_from(next, memo);
            if p.len() > best.len() {
                best = p;
            }
        }
        let mut path = vec![node];
        path.extend(best);
        memo.insert(node, path.clone());
        path
    }
}

fn show(path: &[Node<'_>]) -> String {
    path.iter()
        .map(|(f, s)| format!("{f}/{s}"))
        .collect::<Vec<_>>()
        .join(" → ")
}

/// Checks the journeys through all `flows`; `escalation` is the flow that
/// `escalate` buttons start.
pub fn check_journeys(flows: &[FlowDef], escalation: &str, problems: &mut Vec<Problem>) {
    let graph = Journeys {
        flows: flows.iter().map(|f| (f.id.as_str(), f)).collect(),
        escalation,
    };
    let cycles = graph.cycles();
    for cycle in &cycles {
        let first = cycle[0];
        let (Some(flow), Some(step)) = (graph.flows.get(first.0), graph.step(first)) else {
            continue;
        };
        let mut shown = cycle.clone();
        shown.push(first);
        problems.push(Problem::new(
            &flow.path,
            step.line,
            format!(
                "ciclo sin salida obligada: {}. Un usuario puede dar vueltas sin llegar a un final; haga que uno de estos botones lleve a un paso que responda, escale o termine",
                show(&shown)
            ),
        ));
    }
    if !cycles.is_empty() {
        return;
    }
    let mut memo = HashMap::new();
    let mut starts: Vec<&FlowDef> = flows.iter().collect();
    starts.sort_by(|a, b| a.id.cmp(&b.id));
    for flow in starts {
        let Some(start) = graph.start(&flow.id) else {
            continue;
        };
        let path = graph.longest_from(start, &mut memo);
        if path.len() > MAX_BUTTON_PATH {
            let line = graph.step(start).map_or(1, |s| s.line);
            problems.push(Problem::new(
                &flow.path,
                line,
                format!(
                    "un camino de botones recorre {} pasos sin terminar (máximo {MAX_BUTTON_PATH}): {}",
                    path.len(),
                    show(&path)
                ),
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn flow(id: &str, yaml: &str) -> FlowDef {
        super::super::parse(id, Path::new(&format!("{id}.yaml")), yaml)
            .unwrap_or_else(|p| panic!("{id}: {p:?}"))
    }

    fn problems(flows: &[FlowDef]) -> Vec<String> {
        let mut out = Vec::new();
        check_journeys(flows, "caso", &mut out);
        out.iter().map(|p| p.to_string()).collect()
    }

    const CASO: &str = "title: Caso
triggers: [caso]
steps:
  nombre:
    say: Nombre
    input: text
    field: nombre
    next: fin
  fin:
    say: Listo
    buttons:
      - label: Crear
        open_ticket: true
";

    #[test]
    fn cross_flow_cycle_is_reported() {
        let a = flow(
            "clave",
            "title: A
triggers: [a]
steps:
  inicio:
    say: ¿Puede entrar?
    buttons:
      - label: No
        flow: bloqueo
      - label: Terminar
        end: true
",
        );
        let b = flow(
            "bloqueo",
            "title: B
triggers: [b]
steps:
  inicio:
    say: ¿Fue usted?
    buttons:
      - label: Sí
        goto: fui
      - label: No, no fui yo
        flow: clave
  fui:
    say: Espere
    buttons:
      - label: Listo
        end: true
",
        );
        let got = problems(&[a, b, flow("caso", CASO)]);
        assert_eq!(got.len(), 1, "{got:?}");
        assert!(got[0].contains("ciclo"), "{got:?}");
        assert!(
            got[0].contains("bloqueo/inicio") && got[0].contains("clave/inicio"),
            "{got:?}"
        );
    }

    #[test]
    fn cycle_through_a_typed_answer_is_reported() {
        let a = flow(
            "datos",
            "title: A
triggers: [a]
steps:
  correo:
    say: Correo
    input: email
    field: correo
    next: resumen
  resumen:
    say: Resumen
    buttons:
      - label: Otra vez
        reset: true
        goto: correo
      - label: Listo
        end: true
",
        );
        let got = problems(&[a, flow("caso", CASO)]);
        assert!(got.iter().any(|p| p.contains("datos/correo")), "{got:?}");
    }

    #[test]
    fn long_button_path_is_reported() {
        let mut yaml = String::from("title: Largo\ntriggers: [largo]\nsteps:\n");
        for i in 0..14 {
            yaml.push_str(&format!(
                "  p{i}:\n    say: Paso {i}\n    buttons:\n      - label: Siga\n        goto: p{}\n      - label: Pare\n        end: true\n",
                i + 1
            ));
        }
        yaml.push_str("  p14:\n    say: Fin\n    end: true\n");
        let got = problems(&[flow("largo", &yaml), flow("caso", CASO)]);
        assert_eq!(got.len(), 1, "{got:?}");
        assert!(got[0].contains("15 pasos"), "{got:?}");
    }

    #[test]
    fn escalation_counts_toward_the_button_path_and_corrections_do_not() {
        let caso = flow(
            "caso",
            "title: Caso
triggers: [caso]
steps:
  tipo:
    say: Tipo
    skip_if_known: true
    buttons:
      - label: Comprador
        set: {tipo: Comprador}
        goto: resumen
      - label: Proveedor
        set: {tipo: Proveedor}
        goto: resumen
  resumen:
    say: Resumen
    buttons:
      - label: Crear
        open_ticket: true
      - label: Corregir
        goto: corregir
  corregir:
    say: ¿Qué dato?
    buttons:
      - label: Tipo
        edit: tipo
",
        );
        let ayuda = flow(
            "ayuda",
            "title: Ayuda
triggers: [ayuda]
steps:
  inicio:
    say: ¿Le sirvió?
    buttons:
      - label: No
        escalate: normal
",
        );
        assert_eq!(problems(&[caso, ayuda]), Vec::<String>::new());
    }

    #[test]
    fn bundled_flows_have_no_cycles_and_short_button_paths() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("knowledge/flows");
        let flows: Vec<FlowDef> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
            .map(|p| {
                let id = p.file_stem().unwrap().to_string_lossy().into_owned();
                let text = std::fs::read_to_string(&p).unwrap();
                super::super::parse(&id, &p, &text).unwrap()
            })
            .collect();
        assert!(flows.len() >= 5);
        let mut out = Vec::new();
        check_journeys(&flows, crate::knowledge::ESCALATION_FLOW, &mut out);
        assert!(out.is_empty(), "{out:#?}");
    }
}
