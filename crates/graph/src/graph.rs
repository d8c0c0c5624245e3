//! The dependency graph of a set of items: which must exist before which, with cycles broken
//! into a second, patching pass.
//!
//! ```text
//! edges (from depends on to) ─► strongly connected components (Tarjan)
//!   ─► in each cycle, a depth-first search from its smallest id; its back edges are deferred
//!   ─► topological order of the rest (Kahn, ties by id): dependencies first
//! restore: create in `order` with deferred references left unmapped, then patch `deferred`
//! ```

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use serde::Serialize;

/// Why one item depends on another.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "camelCase", tag = "via")]
pub enum Reason {
    /// A reference in its content, at a path.
    Reference {
        /// Where (`data $.operationalLayers[0].itemId`).
        path: String,
    },
    /// A portal relationship of this type.
    Relationship {
        /// `Map2Service`, `Survey2Service`, …
        relationship_type: String,
    },
}

/// `from` depends on `to`: `to` must exist first.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Edge {
    /// The dependent item.
    pub from: String,
    /// The item it needs.
    pub to: String,
    /// Why.
    pub reason: Reason,
}

/// The edges a portal relationship implies. The origin of a relationship depends on its
/// destination (a web map on its service, a form on the service it writes to, a service on the
/// data it was published from), whichever side records it.
#[must_use]
pub fn relationship_edge(
    item_id: &str,
    relationship_type: &str,
    forward: bool,
    other_id: &str,
) -> Edge {
    let (from, to) = if forward {
        (item_id, other_id)
    } else {
        (other_id, item_id)
    };
    Edge {
        from: from.to_owned(),
        to: to.to_owned(),
        reason: Reason::Relationship {
            relationship_type: relationship_type.to_owned(),
        },
    }
}

/// Items and their dependencies.
#[derive(Debug, Clone, Default)]
pub struct Graph {
    nodes: BTreeSet<String>,
    edges: BTreeSet<Edge>,
}

/// The order to create items in, and what to patch afterwards.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Plan {
    /// Every item once, each after everything it depends on (deferred edges aside).
    pub order: Vec<String>,
    /// Edges broken to make the graph acyclic: `from` is created before `to`, with its reference to
    /// `to` patched in a second pass.
    pub deferred: Vec<Edge>,
    /// The cycles found (strongly connected components of two or more items, or one item with an
    /// edge to itself), each sorted.
    pub cycles: Vec<Vec<String>>,
}

impl Graph {
    /// An empty graph.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Add an item.
    pub fn add_node(&mut self, id: &str) {
        self.nodes.insert(id.to_owned());
    }

    /// Add a dependency (both ends become nodes).
    pub fn add_edge(&mut self, edge: Edge) {
        self.nodes.insert(edge.from.clone());
        self.nodes.insert(edge.to.clone());
        self.edges.insert(edge);
    }

    /// The items.
    pub fn nodes(&self) -> impl Iterator<Item = &String> {
        self.nodes.iter()
    }

    /// The dependencies.
    pub fn edges(&self) -> impl Iterator<Item = &Edge> {
        self.edges.iter()
    }

    /// Plan the creation order: deterministic for a given graph.
    #[must_use]
    pub fn plan(&self) -> Plan {
        let adjacency = self.adjacency();
        let mut cycles = Vec::new();
        let mut back: BTreeSet<(String, String)> = BTreeSet::new();
        for component in tarjan(&self.nodes, &adjacency) {
            let is_cycle = component.len() > 1
                || adjacency
                    .get(&component[0])
                    .is_some_and(|t| t.contains(&component[0]));
            if !is_cycle {
                continue;
            }
            let members: BTreeSet<&String> = component.iter().collect();
            back.extend(back_edges(&component, &members, &adjacency));
            let mut sorted = component.clone();
            sorted.sort();
            cycles.push(sorted);
        }
        cycles.sort();
        let deferred: Vec<Edge> = self
            .edges
            .iter()
            .filter(|e| back.contains(&(e.from.clone(), e.to.clone())))
            .cloned()
            .collect();
        // Kahn on the remaining edges: an item is ready when all it depends on is placed.
        let mut waiting: BTreeMap<&String, usize> = self.nodes.iter().map(|n| (n, 0)).collect();
        let mut dependents: BTreeMap<&String, BTreeSet<&String>> = BTreeMap::new();
        for (from, tos) in &adjacency {
            for to in tos {
                if !back.contains(&(from.clone(), to.clone()))
                    && dependents.entry(to).or_default().insert(from)
                {
                    *waiting.get_mut(from).expect("node") += 1;
                }
            }
        }
        let mut ready: BTreeSet<&String> = waiting
            .iter()
            .filter(|(_, n)| **n == 0)
            .map(|(id, _)| *id)
            .collect();
        let mut order = Vec::with_capacity(self.nodes.len());
        while let Some(next) = ready.pop_first() {
            order.push(next.clone());
            for d in dependents.get(next).into_iter().flatten() {
                let n = waiting.get_mut(d).expect("node");
                *n -= 1;
                if *n == 0 {
                    ready.insert(d);
                }
            }
        }
        debug_assert_eq!(
            order.len(),
            self.nodes.len(),
            "deferring back edges leaves no cycle"
        );
        Plan {
            order,
            deferred,
            cycles,
        }
    }

    fn adjacency(&self) -> BTreeMap<String, BTreeSet<String>> {
        let mut adjacency: BTreeMap<String, BTreeSet<String>> = self
            .nodes
            .iter()
            .map(|n| (n.clone(), BTreeSet::new()))
            .collect();
        for e in &self.edges {
            adjacency
                .entry(e.from.clone())
                .or_default()
                .insert(e.to.clone());
        }
        adjacency
    }
}

/// Strongly connected components (Tarjan, iterative so deep chains cannot overflow the stack).
fn tarjan(
    nodes: &BTreeSet<String>,
    adjacency: &BTreeMap<String, BTreeSet<String>>,
) -> Vec<Vec<String>> {
    let ids: Vec<&String> = nodes.iter().collect();
    let index_of: BTreeMap<&String, usize> =
        ids.iter().enumerate().map(|(i, id)| (*id, i)).collect();
    let succ: Vec<Vec<usize>> = ids
        .iter()
        .map(|id| {
            adjacency
                .get(*id)
                .map(|t| t.iter().map(|x| index_of[x]).collect())
                .unwrap_or_default()
        })
        .collect();
    let n = ids.len();
    let (mut index, mut low, mut on_stack) = (vec![usize::MAX; n], vec![0; n], vec![false; n]);
    let (mut stack, mut out, mut counter) = (Vec::new(), Vec::new(), 0);
    for root in 0..n {
        if index[root] != usize::MAX {
            continue;
        }
        let mut call: Vec<(usize, usize)> = vec![(root, 0)];
        index[root] = counter;
        low[root] = counter;
        counter += 1;
        stack.push(root);
        on_stack[root] = true;
        while let Some(&mut (v, ref mut next)) = call.last_mut() {
            if let Some(&w) = succ[v].get(*next) {
                *next += 1;
                if index[w] == usize::MAX {
                    index[w] = counter;
                    low[w] = counter;
                    counter += 1;
                    stack.push(w);
                    on_stack[w] = true;
                    call.push((w, 0));
                } else if on_stack[w] {
                    low[v] = low[v].min(index[w]);
                }
                continue;
            }
            call.pop();
            if let Some(&(parent, _)) = call.last() {
                low[parent] = low[parent].min(low[v]);
            }
            if low[v] == index[v] {
                let mut component = Vec::new();
                while let Some(w) = stack.pop() {
                    on_stack[w] = false;
                    component.push(ids[w].clone());
                    if w == v {
                        break;
                    }
                }
                out.push(component);
            }
        }
    }
    out
}

/// The back edges of a depth-first search of one component, from its smallest id, visiting
/// successors in id order: removing them leaves the component acyclic.
fn back_edges(
    component: &[String],
    members: &BTreeSet<&String>,
    adjacency: &BTreeMap<String, BTreeSet<String>>,
) -> Vec<(String, String)> {
    let start = component.iter().min().expect("non-empty").clone();
    let mut out = Vec::new();
    let mut state: BTreeMap<String, u8> = BTreeMap::new(); // 1 = on the path, 2 = done
    let mut call: Vec<(String, Vec<String>)> = Vec::new();
    let successors = |v: &String| -> Vec<String> {
        adjacency[v]
            .iter()
            .filter(|w| members.contains(w))
            .rev()
            .cloned()
            .collect()
    };
    state.insert(start.clone(), 1);
    call.push((start.clone(), successors(&start)));
    while let Some((v, pending)) = call.last_mut() {
        let Some(w) = pending.pop() else {
            state.insert(v.clone(), 2);
            call.pop();
            continue;
        };
        let v = v.clone();
        match state.get(&w) {
            Some(1) => out.push((v, w)),
            Some(_) => {}
            None => {
                state.insert(w.clone(), 1);
                let next = successors(&w);
                call.push((w, next));
            }
        }
    }
    out
}

/// One arrow per pair of items: dashed when every reason is a relationship.
pub(crate) fn arrows(graph: &Graph) -> BTreeMap<(&String, &String), bool> {
    let mut out: BTreeMap<(&String, &String), bool> = BTreeMap::new();
    for e in graph.edges() {
        let relationship_only = matches!(e.reason, Reason::Relationship { .. });
        out.entry((&e.from, &e.to))
            .and_modify(|r| *r &= relationship_only)
            .or_insert(relationship_only);
    }
    out
}

/// Render a graph as Graphviz `dot`, with a label per node.
#[must_use]
pub fn to_dot(graph: &Graph, label: &dyn Fn(&str) -> String) -> String {
    let mut out = String::from("digraph orgpack {\n  rankdir=LR;\n  node [shape=box];\n");
    for n in graph.nodes() {
        let _ = writeln!(out, "  \"{n}\" [label=\"{}\"];", escape(&label(n)));
    }
    for ((from, to), dashed) in arrows(graph) {
        let style = if dashed { " [style=dashed]" } else { "" };
        let _ = writeln!(out, "  \"{from}\" -> \"{to}\"{style};");
    }
    out.push_str("}\n");
    out
}

/// Render a graph as a Mermaid flowchart.
#[must_use]
pub fn to_mermaid(graph: &Graph, label: &dyn Fn(&str) -> String) -> String {
    let mut out = String::from("flowchart LR\n");
    let ids: BTreeMap<&String, usize> = graph.nodes().enumerate().map(|(i, n)| (n, i)).collect();
    for (n, i) in &ids {
        let _ = writeln!(
            out,
            "  n{i}[\"{}\"]",
            escape(&label(n)).replace('"', "#quot;")
        );
    }
    for ((from, to), dashed) in arrows(graph) {
        let arrow = if dashed { "-.->" } else { "-->" };
        let _ = writeln!(out, "  n{} {arrow} n{}", ids[from], ids[to]);
    }
    out
}

fn escape(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', " ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn edge(from: &str, to: &str) -> Edge {
        Edge {
            from: from.into(),
            to: to.into(),
            reason: Reason::Reference {
                path: String::new(),
            },
        }
    }

    #[test]
    fn dependencies_come_first() {
        let mut g = Graph::new();
        g.add_edge(edge("app", "map"));
        g.add_edge(edge("map", "service"));
        g.add_edge(relationship_edge("form", "Survey2Service", true, "service"));
        let plan = g.plan();
        assert_eq!(plan.order, vec!["service", "form", "map", "app"]);
        assert!(plan.deferred.is_empty() && plan.cycles.is_empty());
    }

    #[test]
    fn a_cycle_is_broken_once_and_reported() {
        let mut g = Graph::new();
        g.add_edge(edge("a", "b"));
        g.add_edge(edge("b", "c"));
        g.add_edge(edge("c", "a"));
        g.add_edge(edge("d", "a"));
        let plan = g.plan();
        assert_eq!(
            plan.cycles,
            vec![vec!["a".to_string(), "b".into(), "c".into()]]
        );
        assert_eq!(plan.deferred, vec![edge("c", "a")]);
        assert_eq!(plan.order, vec!["c", "b", "a", "d"]);
    }

    #[test]
    fn self_loops_are_cycles() {
        let mut g = Graph::new();
        g.add_edge(edge("a", "a"));
        let plan = g.plan();
        assert_eq!(plan.cycles.len(), 1);
        assert_eq!(plan.deferred.len(), 1);
        assert_eq!(plan.order, vec!["a"]);
    }

    proptest! {
        #[test]
        fn plans_are_complete_and_respect_every_kept_edge(edges in proptest::collection::vec((0u8..12, 0u8..12), 0..40)) {
            let mut g = Graph::new();
            for (a, b) in &edges {
                g.add_edge(edge(&format!("n{a}"), &format!("n{b}")));
            }
            let plan = g.plan();
            let position: BTreeMap<&String, usize> = plan.order.iter().enumerate().map(|(i, n)| (n, i)).collect();
            prop_assert_eq!(position.len(), g.nodes().count(), "every node once");
            for e in g.edges() {
                if plan.deferred.contains(e) {
                    // Only edges inside a cycle are ever deferred.
                    prop_assert!(plan.cycles.iter().any(|c| c.contains(&e.from) && c.contains(&e.to)));
                } else {
                    prop_assert!(position[&e.to] < position[&e.from], "{e:?} violated");
                }
            }
            prop_assert_eq!(plan.clone(), g.plan(), "deterministic");
        }
    }
}
