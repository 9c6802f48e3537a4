//! The object's maps while the lab runs: snapshots compared second by second
//! (what `gw run` shows live), and `gw lab map` reading and writing them from
//! another process by their kernel ids.

use std::collections::BTreeMap;

use aya::Ebpf;
use aya::maps::{Map, MapData};

use super::{Error, Record};
use crate::bpftest::kernel::{self, Layout};
use crate::bpftest::value::{self, Value};

/// One map's entries, key → value (per-CPU values summed).
type Entries = BTreeMap<Vec<u8>, Vec<u8>>;

/// Every entry of every map gw can read: name → (is it an array, its entries).
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Snapshot(BTreeMap<String, (bool, Entries)>);

/// One entry that appeared, changed or went.
#[derive(Debug, PartialEq)]
pub struct Change {
    pub map: String,
    pub key: String,
    pub before: Option<String>,
    pub after: Option<String>,
}

/// The maps to show: aya-log's ring buffer and maps gw cannot read are left out.
pub fn snapshot(ebpf: &Ebpf) -> Snapshot {
    let mut all = BTreeMap::new();
    for (name, map) in ebpf.maps() {
        if let Some(entries) = entries(map) {
            all.insert(name.to_string(), (is_array(map), entries));
        }
    }
    Snapshot(all)
}

fn entries(map: &Map) -> Option<Entries> {
    let layout = kernel::layout(map).ok()?;
    let mut out = BTreeMap::new();
    for key in kernel::keys(map, &layout).ok()? {
        if let Ok(Some(cpus)) = kernel::lookup(map, &layout, &key) {
            out.insert(key, value::sum_over_cpus(&cpus));
        }
    }
    Some(out)
}

impl Snapshot {
    /// What differs from `before`, map by map, key by key.
    pub fn changes(&self, before: &Snapshot) -> Vec<Change> {
        let mut changes = Vec::new();
        let empty = BTreeMap::new();
        for (name, (array, now)) in &self.0 {
            let then = before.0.get(name).map_or(&empty, |(_, entries)| entries);
            let keys: std::collections::BTreeSet<&Vec<u8>> = now.keys().chain(then.keys()).collect();
            for key in keys {
                let (a, b) = (then.get(key), now.get(key));
                if a != b {
                    changes.push(Change {
                        map: name.clone(),
                        key: show_key(key, *array),
                        before: a.map(|v| show(v)),
                        after: b.map(|v| show(v)),
                    });
                }
            }
        }
        changes
    }
}

/// An array's index as a number, any other key as its bytes in hex (an address, a tuple).
pub fn show_key(bytes: &[u8], array: bool) -> String {
    if array { show(bytes) } else { value::spaced_hex(bytes) }
}

/// A value as a person reads it: an integer when it fits one (a counter, a flag), a list of
/// them for a struct of 8-byte counters (`[6, 774]`), else hex.
pub fn show(bytes: &[u8]) -> String {
    match bytes.len() {
        1 | 2 | 4 | 8 => value::as_integer(bytes).to_string(),
        n if n % 8 == 0 => {
            let lanes: Vec<String> = bytes.chunks(8).map(|lane| value::as_integer(lane).to_string()).collect();
            format!("[{}]", lanes.join(", "))
        }
        _ => value::spaced_hex(bytes),
    }
}

fn is_array(map: &Map) -> bool {
    matches!(map, Map::Array(_) | Map::PerCpuArray(_))
}

/// The ids of the object's maps, for the lab's record.
pub fn ids(ebpf: &Ebpf) -> BTreeMap<String, u32> {
    ebpf.maps().filter_map(|(name, map)| Some((name.to_string(), kernel::id(map)?))).collect()
}

/// A map of a running lab, opened by its id.
pub struct Opened {
    name: String,
    map: Map,
    layout: Layout,
}

pub fn open(record: &Record, name: &str) -> Result<Opened, Error> {
    let id = record.maps.get(name).ok_or_else(|| {
        let known = record.maps.keys().map(String::as_str).collect::<Vec<_>>().join(", ");
        Error::Map(format!("lab {} has no map {name:?}; its maps: {known}", record.id))
    })?;
    let failed = |e: &dyn std::fmt::Display| Error::Map(format!("map {name} (id {id}): {e}"));
    let data = MapData::from_id(*id).map_err(|e| failed(&e))?;
    let map = Map::from_map_data(data).map_err(|e| failed(&e))?;
    let layout = kernel::layout(&map).map_err(|e| failed(&e))?;
    Ok(Opened { name: name.to_string(), map, layout })
}

impl Opened {
    /// Every entry, per-CPU values summed, shown as [`show`] does.
    pub fn list(&self) -> Result<Vec<(String, String)>, Error> {
        let entries = entries(&self.map).ok_or_else(|| Error::Map(format!("map {} cannot be read", self.name)))?;
        let array = is_array(&self.map);
        Ok(entries.iter().map(|(k, v)| (show_key(k, array), show(v))).collect())
    }

    /// Writes `value` under `key` (in a per-CPU map, as CPU 0's).
    pub fn set(&self, key: &Value, value: &Value) -> Result<(), Error> {
        let key = self.sized(key, self.layout.key_size, "key")?;
        let value = self.sized(value, self.layout.value_size, "value")?;
        kernel::update(&self.map, &self.layout, &key, &value).map_err(|e| Error::Map(format!("map {}: {e}", self.name)))
    }

    /// Writes `key` with a value of 1 in the map's value size: an entry whose presence counts,
    /// as in a deny list.
    pub fn mark(&self, key: &Value) -> Result<(), Error> {
        let key = self.sized(key, self.layout.key_size, "key")?;
        let mut value = vec![0; self.layout.value_size];
        if let Some(first) = value.first_mut() {
            *first = 1;
        }
        kernel::update(&self.map, &self.layout, &key, &value).map_err(|e| Error::Map(format!("map {}: {e}", self.name)))
    }

    /// Removes `key`; false when it was not there. Arrays keep their entries.
    pub fn delete(&self, key: &Value) -> Result<bool, Error> {
        if is_array(&self.map) {
            return Err(Error::Map(format!(
                "map {} is an array: its entries cannot be deleted; set the value instead",
                self.name
            )));
        }
        let key = self.sized(key, self.layout.key_size, "key")?;
        kernel::delete(&self.map, &key).map_err(|e| Error::Map(format!("map {}: {e}", self.name)))
    }

    fn sized(&self, value: &Value, size: usize, what: &str) -> Result<Vec<u8>, Error> {
        let bytes = value.bytes().map_err(Error::Map)?;
        if bytes.len() != size {
            return Err(Error::Map(format!(
                "map {}'s {what} is {size} bytes; this one is {} (e.g. u32 and ipv4 are 4, u64 is 8)",
                self.name,
                bytes.len()
            )));
        }
        Ok(bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changes_name_the_map_and_key() {
        let mut before = Snapshot::default();
        before.0.insert("VERDICTS".into(), (true, BTreeMap::from([(vec![1, 0, 0, 0], 2u64.to_le_bytes().to_vec())])));
        let mut after = before.clone();
        after.0.get_mut("VERDICTS").unwrap().1.insert(vec![1, 0, 0, 0], 5u64.to_le_bytes().to_vec());
        after.0.insert("BLOCKLIST".into(), (false, BTreeMap::from([(vec![10, 200, 1, 2], vec![1])])));
        let changes = after.changes(&before);
        assert_eq!(changes.len(), 2);
        assert_eq!(changes[0].map, "BLOCKLIST");
        assert_eq!(changes[0].key, "0a c8 01 02");
        assert_eq!(changes[1].key, "1", "an array's index");
        assert_eq!(changes[0].before, None);
        assert_eq!(changes[1].before.as_deref(), Some("2"));
        assert_eq!(changes[1].after.as_deref(), Some("5"));
        assert!(after.changes(&after).is_empty());
        let counters = [6u64.to_le_bytes(), 774u64.to_le_bytes()].concat();
        assert_eq!(show(&counters), "[6, 774]", "a struct of counters");
        assert_eq!(show(&[1, 2, 3]), "01 02 03");
    }
}
