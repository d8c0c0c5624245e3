//! A graph drawn as a self-contained SVG picture: each item a box in a column one to the right of
//! the items it depends on (cycles broken as [`Graph::plan`] breaks them), arrows from an item to
//! what it needs, dashed when every reason is a relationship. No layout engine: the graphs drawn
//! (the failed items of a run and what they held back) are small.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::graph::{Graph, arrows};

const BOX_WIDTH: usize = 230;
const BOX_HEIGHT: usize = 44;
const COLUMN_GAP: usize = 70;
const ROW_GAP: usize = 16;
const MARGIN: usize = 10;
/// Characters of a label shown in a box; the whole label is the box's tooltip.
const LABEL_CHARS: usize = 32;

/// Render `graph` as SVG. `label` names each node; `class` gives each node's CSS class (the
/// page styles `.failed`, `.held` and the rest), also written as the box's `data-kind`.
#[must_use]
pub fn to_svg(
    graph: &Graph,
    label: &dyn Fn(&str) -> String,
    class: &dyn Fn(&str) -> &'static str,
) -> String {
    let plan = graph.plan();
    let deferred: std::collections::BTreeSet<(&String, &String)> =
        plan.deferred.iter().map(|e| (&e.from, &e.to)).collect();
    let drawn = arrows(graph);
    // A node's column: one more than the deepest column of what it needs (deferred edges aside).
    let mut column: BTreeMap<&String, usize> = BTreeMap::new();
    for id in &plan.order {
        let depth = drawn
            .keys()
            .filter(|(from, to)| *from == id && !deferred.contains(&(*from, *to)))
            .filter_map(|(_, to)| column.get(to))
            .max()
            .map_or(0, |c| c + 1);
        column.insert(id, depth);
    }
    let mut rows: BTreeMap<usize, usize> = BTreeMap::new();
    let mut at: BTreeMap<&String, (usize, usize)> = BTreeMap::new();
    for id in &plan.order {
        let c = column[id];
        let r = rows.entry(c).or_default();
        at.insert(
            id,
            (
                MARGIN + c * (BOX_WIDTH + COLUMN_GAP),
                MARGIN + *r * (BOX_HEIGHT + ROW_GAP),
            ),
        );
        *r += 1;
    }
    let columns = rows.len().max(1);
    let most_rows = rows.values().copied().max().unwrap_or(1);
    let width = 2 * MARGIN + columns * BOX_WIDTH + (columns - 1) * COLUMN_GAP;
    let height = 2 * MARGIN + most_rows * BOX_HEIGHT + most_rows.saturating_sub(1) * ROW_GAP;
    let mut out = String::new();
    let _ = write!(
        out,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"graph\" viewBox=\"0 0 {width} {height}\" \
         width=\"{width}\" height=\"{height}\" role=\"img\" aria-label=\"dependency graph\">\
         <defs><marker id=\"arrow\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" markerWidth=\"7\" \
         markerHeight=\"7\" orient=\"auto-start-reverse\"><path d=\"M0,0L10,5L0,10z\" \
         fill=\"#555\"/></marker></defs>"
    );
    for ((from, to), dashed) in &drawn {
        let (Some(&(fx, fy)), Some(&(tx, ty))) = (at.get(from), at.get(to)) else {
            continue;
        };
        let dash = if *dashed {
            " stroke-dasharray=\"5,4\""
        } else {
            ""
        };
        let _ = write!(
            out,
            "<line class=\"edge\" x1=\"{fx}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"#555\"{dash} \
             marker-end=\"url(#arrow)\"/>",
            fy + BOX_HEIGHT / 2,
            tx + BOX_WIDTH,
            ty + BOX_HEIGHT / 2,
        );
    }
    for (id, (x, y)) in &at {
        let full = label(id);
        let shown: String = if full.chars().count() > LABEL_CHARS {
            full.chars()
                .take(LABEL_CHARS - 1)
                .chain(std::iter::once('…'))
                .collect()
        } else {
            full.clone()
        };
        let kind = class(id);
        let _ = write!(
            out,
            "<g class=\"node {kind}\" data-kind=\"{kind}\" data-id=\"{}\"><title>{}</title>\
             <rect x=\"{x}\" y=\"{y}\" width=\"{BOX_WIDTH}\" height=\"{BOX_HEIGHT}\" rx=\"6\"/>\
             <text x=\"{}\" y=\"{}\">{}</text><text class=\"id\" x=\"{}\" y=\"{}\">{}</text></g>",
            escape(id),
            escape(&full),
            x + 8,
            y + 18,
            escape(&shown),
            x + 8,
            y + 35,
            escape(id),
        );
    }
    out.push_str("</svg>");
    out
}

/// `s` with XML's (and HTML's) special characters escaped, for text and attribute values;
/// control characters become spaces.
#[must_use]
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::{Edge, Reason, relationship_edge};

    fn reference(from: &str, to: &str) -> Edge {
        Edge {
            from: from.into(),
            to: to.into(),
            reason: Reason::Reference { path: "$".into() },
        }
    }

    /// The x of each node's box, by id.
    fn xs(svg: &str) -> BTreeMap<String, usize> {
        svg.split("<g class=\"node ")
            .skip(1)
            .map(|g| {
                let id = g.split("data-id=\"").nth(1).unwrap().split('"').next();
                let x = g.split("<rect x=\"").nth(1).unwrap().split('"').next();
                (id.unwrap().to_owned(), x.unwrap().parse().unwrap())
            })
            .collect()
    }

    #[test]
    fn an_item_is_drawn_right_of_what_it_needs_with_one_arrow_per_pair() {
        let mut g = Graph::new();
        g.add_edge(reference("app", "map"));
        g.add_edge(reference("map", "svc"));
        g.add_edge(reference("app", "svc"));
        g.add_edge(relationship_edge("map", "Map2Service", true, "svc"));
        g.add_node("alone");
        let svg = to_svg(&g, &|id| format!("{id} <&>"), &|id| {
            if id == "svc" { "failed" } else { "held" }
        });
        let x = xs(&svg);
        assert!(x["svc"] < x["map"] && x["map"] < x["app"], "{x:?}");
        assert_eq!(x["alone"], x["svc"]);
        assert_eq!(svg.matches("<line").count(), 3, "{svg}");
        // map → svc has a reference as well as the relationship: drawn solid.
        assert_eq!(svg.matches("stroke-dasharray").count(), 0);
        assert!(svg.contains("data-kind=\"failed\" data-id=\"svc\""));
        assert!(svg.contains("svc &lt;&amp;&gt;") && !svg.contains("<&>"));
    }

    #[test]
    fn a_cycle_and_a_long_label_still_draw() {
        let mut g = Graph::new();
        g.add_edge(reference("a", "b"));
        g.add_edge(reference("b", "a"));
        g.add_edge(relationship_edge("c", "Survey2Service", true, "a"));
        let long = "x".repeat(100);
        let svg = to_svg(&g, &|_| long.clone(), &|_| "held");
        assert_eq!(xs(&svg).len(), 3);
        assert_eq!(svg.matches("stroke-dasharray").count(), 1);
        assert!(svg.contains(&format!("{}…", "x".repeat(LABEL_CHARS - 1))));
        assert!(svg.contains(&format!("<title>{long}</title>")));
    }
}
