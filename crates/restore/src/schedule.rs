//! When each item of a target starts: as soon as everything it needs has finished, not when the
//! whole wave before it has. A slow publish then holds back only what depends on that service,
//! not every map and app of the organization.
//!
//! Items rewrite their references from a snapshot of the id map (cloning the map for every item
//! made large restores quadratic), so the schedule also says when a ready item needs a newer
//! snapshot than the one at hand: [`Next::Stale`]. The caller decides when to take one.

use crate::plan::PlannedItem;

/// What to do next.
#[derive(Debug, PartialEq, Eq)]
pub enum Next {
    /// Start the item at this index of the plan.
    Start(usize),
    /// Items are ready, but each needs an id map that includes later finishes than the
    /// snapshot at hand.
    Stale,
    /// Nothing is ready: wait for a running item to finish.
    Wait,
    /// Every item has finished.
    Done,
}

/// The schedule of one target's items, in plan order among those ready.
#[derive(Debug)]
pub struct Schedule {
    /// Needs of each item not finished yet.
    pending: Vec<usize>,
    /// Items that need each item.
    dependents: Vec<Vec<usize>>,
    /// Ready items, by plan index, with the number of map-changing finishes they need to see.
    ready: std::collections::BTreeMap<usize, u64>,
    /// Map-changing finishes so far.
    changes: u64,
    running: usize,
    left: usize,
}

impl Schedule {
    /// The schedule of `items` (a plan's, dependencies first). A need outside the plan is taken
    /// as met.
    pub fn new(items: &[PlannedItem]) -> Self {
        let index: std::collections::HashMap<&str, usize> = items
            .iter()
            .enumerate()
            .map(|(i, p)| (p.id.as_str(), i))
            .collect();
        let mut pending = vec![0; items.len()];
        let mut dependents = vec![Vec::new(); items.len()];
        for (i, p) in items.iter().enumerate() {
            let needs: std::collections::BTreeSet<usize> = p
                .needs
                .iter()
                .filter_map(|n| index.get(n.as_str()).copied())
                .filter(|&n| n != i)
                .collect();
            pending[i] = needs.len();
            for n in needs {
                dependents[n].push(i);
            }
        }
        let ready = (0..items.len())
            .filter(|&i| pending[i] == 0)
            .map(|i| (i, 0))
            .collect();
        Self {
            pending,
            dependents,
            ready,
            changes: 0,
            running: 0,
            left: items.len(),
        }
    }

    /// The next step, for a caller whose id map snapshot includes the first `seen` changes.
    pub fn next(&mut self, seen: u64) -> Next {
        if self.left == 0 {
            return Next::Done;
        }
        if let Some(&i) = self
            .ready
            .iter()
            .find(|&(_, &needs)| needs <= seen)
            .map(|(i, _)| i)
        {
            self.ready.remove(&i);
            self.running += 1;
            return Next::Start(i);
        }
        if !self.ready.is_empty() {
            return Next::Stale;
        }
        if self.running > 0 {
            return Next::Wait;
        }
        // Nothing runs and nothing is ready, yet items are left: their needs can never finish
        // (a plan's cycles are broken, so this is a safeguard, not a path). Start the first.
        let stuck = (0..self.pending.len())
            .find(|&i| self.pending[i] > 0)
            .expect("items left are pending");
        self.pending[stuck] = 0;
        self.running += 1;
        Next::Start(stuck)
    }

    /// Item `i` (started, or never started because it is skipped) has finished; `changed_map`
    /// when it added to the id map (what its dependents rewrite with).
    pub fn finish(&mut self, i: usize, started: bool, changed_map: bool) {
        if started {
            self.running -= 1;
        }
        self.left -= 1;
        if changed_map {
            self.changes += 1;
        }
        for &d in &self.dependents[i] {
            // Zero already: started by the safeguard in `next`.
            if self.pending[d] > 0 {
                self.pending[d] -= 1;
                if self.pending[d] == 0 {
                    self.ready.insert(d, self.changes);
                }
            }
        }
    }

    /// Map-changing finishes so far: a snapshot taken now includes this many.
    pub fn changes(&self) -> u64 {
        self.changes
    }

    /// Whether a ready item waits for a newer snapshot than one including `seen` changes.
    pub fn stale(&self, seen: u64) -> bool {
        self.ready.values().any(|&needs| needs > seen)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(id: &str, needs: &[&str]) -> PlannedItem {
        PlannedItem {
            index: 0,
            id: id.into(),
            action: crate::report::Action::Create,
            existing: None,
            found_by: None,
            keep_id: false,
            owner: "admin".into(),
            folder: None,
            needs: needs.iter().map(|n| (*n).to_owned()).collect(),
            patch_later: Vec::new(),
            in_place: None,
            incomplete: None,
        }
    }

    #[test]
    fn an_item_starts_when_its_own_needs_finish_not_the_whole_wave() {
        // fgdb-a ← svc-a ← map-a;  fgdb-b ← svc-b (slow);  map-a needs only svc-a.
        let items = [
            item("fgdb-a", &[]),
            item("fgdb-b", &[]),
            item("svc-a", &["fgdb-a"]),
            item("svc-b", &["fgdb-b"]),
            item("map-a", &["svc-a"]),
        ];
        let mut s = Schedule::new(&items);
        assert_eq!(s.next(0), Next::Start(0));
        assert_eq!(s.next(0), Next::Start(1));
        assert_eq!(s.next(0), Next::Wait);
        s.finish(0, true, true);
        // svc-a is ready but needs the map with fgdb-a in it.
        assert_eq!(s.next(0), Next::Stale);
        assert!(s.stale(0));
        assert_eq!(s.next(s.changes()), Next::Start(2));
        s.finish(1, true, true);
        assert_eq!(s.next(2), Next::Start(3)); // svc-b starts, and takes long
        s.finish(2, true, true);
        // map-a goes while svc-b is still running: it does not wait for svc-b's wave.
        assert_eq!(s.next(3), Next::Start(4));
        assert_eq!(s.next(3), Next::Wait);
        s.finish(4, true, true);
        s.finish(3, true, true);
        assert_eq!(s.next(5), Next::Done);
    }

    #[test]
    fn a_skipped_item_releases_its_dependents_without_a_new_map() {
        let items = [
            item("a", &[]),
            item("b", &["a"]),
            item("c", &["b", "elsewhere"]),
        ];
        let mut s = Schedule::new(&items);
        assert_eq!(s.next(0), Next::Start(0));
        s.finish(0, true, false); // failed: nothing added to the map
        assert_eq!(s.next(0), Next::Start(1));
        s.finish(1, true, false);
        // `elsewhere` is not in the plan: taken as met.
        assert_eq!(s.next(0), Next::Start(2));
        s.finish(2, true, false);
        assert_eq!(s.next(0), Next::Done);
    }

    #[test]
    fn items_that_can_never_be_ready_still_run() {
        let items = [item("a", &["b"]), item("b", &["a"])];
        let mut s = Schedule::new(&items);
        assert_eq!(s.next(0), Next::Start(0));
        assert_eq!(s.next(0), Next::Wait);
        s.finish(0, true, true);
        assert_eq!(s.next(1), Next::Start(1));
        s.finish(1, true, true);
        assert_eq!(s.next(2), Next::Done);
    }
}
