//! Impact analysis over the relationship graph, pure: the traversal asks for the edges of a
//! whole frontier at a time (one bounded query per level in production, a vector in the
//! tests), never per node.
//!
//! An edge `from → to` means `from` depends on `to` (`depends_on`, `runs_on`, `part_of`,
//! `connected_to`). Direction `down` (iTop's "impacts"): what fails when the start fails —
//! everything that depends on it, directly or through others. A redundant group (edges from
//! one CI to the members of a cluster) passes the failure on only once every member is down.
//! Direction `up`: what the start rests on; redundancy does not cut that. Cycles may exist: each
//! CI is visited once, and an edge back to a CI on the current path is reported as a cycle.

use std::collections::{HashMap, HashSet, VecDeque};

/// An edge as the traversal needs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Edge {
    pub from_id: i64,
    pub to_id: i64,
    pub group_id: Option<i64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// What fails when this CI fails (impact).
    Down,
    /// What this CI rests on.
    Up,
}

/// A CI the traversal reached, the step it took, and the CI it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reached {
    pub id: i64,
    pub depth: u32,
    pub parent: i64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Traversal {
    /// In the order reached (breadth first).
    pub reached: Vec<Reached>,
    /// Cycles met, each a chain of CI ids that starts and ends on the same CI.
    pub cycles: Vec<Vec<i64>>,
    /// The item bound cut the traversal short.
    pub truncated: bool,
}

/// At most this many cycles are reported.
pub const MAX_CYCLES: usize = 20;

impl Traversal {
    /// The chain of CIs from the start to `id` (both included).
    pub fn path(&self, start: i64, id: i64) -> Vec<i64> {
        let parents: HashMap<i64, i64> = self.reached.iter().map(|r| (r.id, r.parent)).collect();
        chain(&parents, start, id)
    }
}

fn chain(parents: &HashMap<i64, i64>, start: i64, id: i64) -> Vec<i64> {
    let mut path = vec![id];
    let mut at = id;
    while at != start {
        match parents.get(&at) {
            Some(&p) => {
                path.push(p);
                at = p;
            }
            None => break,
        }
        if path.len() > parents.len() + 1 {
            break; // never loops: parents form a tree rooted at the start
        }
    }
    path.reverse();
    path
}

/// Walks the graph from `start`. `edges_of(frontier)` answers the edges that lead out of the
/// frontier in the walk's direction (down: the edges whose `to_id` is in it; up: whose `from_id`
/// is); `group_sizes(groups)` answers how many edges each redundant group has.
pub fn traverse<E>(
    start: i64,
    direction: Direction,
    max_depth: u32,
    max_items: usize,
    mut edges_of: impl FnMut(&[i64]) -> Result<Vec<Edge>, E>,
    mut group_sizes: impl FnMut(&[i64]) -> Result<HashMap<i64, usize>, E>,
) -> Result<Traversal, E> {
    let mut out = Traversal::default();
    let mut parents: HashMap<i64, i64> = HashMap::new();
    let mut seen: HashSet<i64> = HashSet::from([start]);
    // Down members of each redundant group, and each group's size once known.
    let mut down_members: HashMap<i64, HashSet<i64>> = HashMap::new();
    let mut sizes: HashMap<i64, usize> = HashMap::new();
    let mut frontier = vec![start];
    let mut depth = 0;
    while !frontier.is_empty() && depth < max_depth {
        depth += 1;
        let mut edges = edges_of(&frontier)?;
        edges.sort_by_key(|e| (e.from_id, e.to_id));
        if direction == Direction::Down {
            let unknown: Vec<i64> = edges
                .iter()
                .filter_map(|e| e.group_id)
                .filter(|g| !sizes.contains_key(g))
                .collect::<HashSet<_>>()
                .into_iter()
                .collect();
            if !unknown.is_empty() {
                sizes.extend(group_sizes(&unknown)?);
            }
        }
        let mut next = Vec::new();
        let mut queue: VecDeque<Edge> = edges.into();
        while let Some(edge) = queue.pop_front() {
            let (from, to) = match direction {
                Direction::Down => (edge.to_id, edge.from_id),
                Direction::Up => (edge.from_id, edge.to_id),
            };
            if seen.contains(&to) {
                if out.cycles.len() < MAX_CYCLES {
                    let path = chain(&parents, start, from);
                    if let Some(pos) = path.iter().position(|&c| c == to) {
                        let mut cycle = path[pos..].to_vec();
                        cycle.push(to);
                        if !out.cycles.contains(&cycle) {
                            out.cycles.push(cycle);
                        }
                    }
                }
                continue;
            }
            if direction == Direction::Down {
                if let Some(group) = edge.group_id {
                    let members = down_members.entry(group).or_default();
                    members.insert(from);
                    if members.len() < sizes.get(&group).copied().unwrap_or(1) {
                        continue; // another member still carries the load
                    }
                }
            }
            if out.reached.len() >= max_items {
                out.truncated = true;
                return Ok(out);
            }
            seen.insert(to);
            parents.insert(to, from);
            out.reached.push(Reached {
                id: to,
                depth,
                parent: from,
            });
            next.push(to);
        }
        frontier = next;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;
    use std::convert::Infallible;

    use proptest::prelude::*;

    use super::*;

    fn run(edges: &[Edge], start: i64, direction: Direction, depth: u32) -> Traversal {
        traverse::<Infallible>(
            start,
            direction,
            depth,
            usize::MAX,
            |frontier| {
                Ok(edges
                    .iter()
                    .filter(|e| match direction {
                        Direction::Down => frontier.contains(&e.to_id),
                        Direction::Up => frontier.contains(&e.from_id),
                    })
                    .copied()
                    .collect())
            },
            |groups| {
                Ok(groups
                    .iter()
                    .map(|g| (*g, edges.iter().filter(|e| e.group_id == Some(*g)).count()))
                    .collect())
            },
        )
        .unwrap()
    }

    /// The naive reference: apply the rule to every CI until nothing changes. A CI fails when
    /// an edge outside a group leads to a failed CI, or when every edge of one of its groups does.
    fn reference_down(edges: &[Edge], start: i64) -> BTreeSet<i64> {
        let mut down: BTreeSet<i64> = BTreeSet::from([start]);
        loop {
            let mut changed = false;
            let nodes: BTreeSet<i64> = edges.iter().map(|e| e.from_id).collect();
            for node in nodes {
                if down.contains(&node) {
                    continue;
                }
                let out: Vec<&Edge> = edges.iter().filter(|e| e.from_id == node).collect();
                let plain = out.iter().any(|e| e.group_id.is_none() && down.contains(&e.to_id));
                let groups: BTreeSet<i64> = out.iter().filter_map(|e| e.group_id).collect();
                let grouped = groups.iter().any(|g| {
                    edges
                        .iter()
                        .filter(|e| e.group_id == Some(*g))
                        .all(|e| down.contains(&e.to_id))
                });
                if plain || grouped {
                    down.insert(node);
                    changed = true;
                }
            }
            if !changed {
                down.remove(&start);
                return down;
            }
        }
    }

    /// Plain reachability with the number of steps, breadth first.
    fn reference_up(edges: &[Edge], start: i64, depth: u32) -> BTreeSet<i64> {
        let mut seen = BTreeSet::from([start]);
        let mut frontier = vec![start];
        for _ in 0..depth {
            let next: Vec<i64> = edges
                .iter()
                .filter(|e| frontier.contains(&e.from_id) && !seen.contains(&e.to_id))
                .map(|e| e.to_id)
                .collect();
            seen.extend(next.iter().copied());
            frontier = next;
        }
        seen.remove(&start);
        seen
    }

    /// Graphs of up to 12 CIs with random edges (self-loops and duplicates left out, as the
    /// database refuses them); each CI's edges may form a redundant group.
    fn graph() -> impl Strategy<Value = Vec<Edge>> {
        (
            prop::collection::vec((0_i64..12, 0_i64..12), 0..40),
            prop::collection::vec(any::<bool>(), 12),
        )
            .prop_map(|(pairs, grouped)| {
                let mut seen = HashSet::new();
                pairs
                    .into_iter()
                    .filter(|(a, b)| a != b && seen.insert((*a, *b)))
                    .map(|(from_id, to_id)| Edge {
                        from_id,
                        to_id,
                        group_id: grouped[from_id as usize].then_some(100 + from_id),
                    })
                    .collect()
            })
    }

    proptest! {
        #[test]
        fn impact_matches_the_naive_reference(edges in graph(), start in 0_i64..12) {
            let t = run(&edges, start, Direction::Down, u32::MAX);
            let got: BTreeSet<i64> = t.reached.iter().map(|r| r.id).collect();
            prop_assert_eq!(got.len(), t.reached.len(), "each CI once");
            prop_assert_eq!(got, reference_down(&edges, start));
            // Every path is a chain of real edges from the start.
            for r in &t.reached {
                let path = t.path(start, r.id);
                prop_assert_eq!(path[0], start);
                for step in path.windows(2) {
                    prop_assert!(edges.iter().any(|e| e.to_id == step[0] && e.from_id == step[1]));
                }
            }
            for cycle in &t.cycles {
                prop_assert_eq!(cycle.first(), cycle.last());
                for step in cycle.windows(2) {
                    prop_assert!(edges.iter().any(|e| e.to_id == step[0] && e.from_id == step[1]));
                }
            }
        }

        #[test]
        fn depends_on_is_reachability_within_the_depth(edges in graph(), start in 0_i64..12, depth in 1_u32..5) {
            let t = run(&edges, start, Direction::Up, depth);
            let got: BTreeSet<i64> = t.reached.iter().map(|r| r.id).collect();
            prop_assert_eq!(got, reference_up(&edges, start, depth));
            prop_assert!(t.reached.iter().all(|r| r.depth <= depth));
        }
    }

    fn edge(from_id: i64, to_id: i64, group_id: Option<i64>) -> Edge {
        Edge {
            from_id,
            to_id,
            group_id,
        }
    }

    #[test]
    fn a_redundant_pair_carries_on_while_one_member_stands() {
        // service 1 depends on app 2, which runs on nodes 3 and 4 (redundant, group 9).
        let edges = [edge(1, 2, None), edge(2, 3, Some(9)), edge(2, 4, Some(9))];
        assert!(run(&edges, 3, Direction::Down, 10).reached.is_empty());
        let app = run(&edges, 2, Direction::Down, 10);
        assert_eq!(app.reached.iter().map(|r| r.id).collect::<Vec<_>>(), [1]);
        assert_eq!(app.path(2, 1), [2, 1]);
    }

    #[test]
    fn cycles_are_reported_and_walked_once() {
        let edges = [edge(1, 2, None), edge(2, 3, None), edge(3, 1, None)];
        let t = run(&edges, 1, Direction::Down, 10);
        assert_eq!(t.reached.iter().map(|r| r.id).collect::<Vec<_>>(), [3, 2]);
        assert_eq!(t.cycles, vec![vec![1, 3, 2, 1]]);
    }
}
