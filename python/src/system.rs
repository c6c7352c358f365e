//! `get_system_info` / `get_numa_info`: the machine's CPU and NUMA topology as Linux reports
//! it under `/sys` (dgen-py 0.3.0's dictionary keys). Reporting only: dgen_py places no
//! threads or memory on NUMA nodes.

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};
use std::collections::BTreeSet;
use std::path::Path;

const NODES: &str = "/sys/devices/system/node";
const CPUS: &str = "/sys/devices/system/cpu";

/// Parses a kernel CPU list such as `0-3,8,10-11`; `None` if malformed.
fn parse_cpu_list(text: &str) -> Option<Vec<u32>> {
    let mut cpus = Vec::new();
    for part in text.trim().split(',').filter(|p| !p.is_empty()) {
        match part.split_once('-') {
            Some((a, b)) => {
                let (a, b) = (a.parse::<u32>().ok()?, b.parse::<u32>().ok()?);
                if a > b {
                    return None;
                }
                cpus.extend(a..=b);
            }
            None => cpus.push(part.parse().ok()?),
        }
    }
    Some(cpus)
}

/// Reads a file as trimmed text.
fn read(path: impl AsRef<Path>) -> Option<String> {
    std::fs::read_to_string(path)
        .ok()
        .map(|s| s.trim().to_string())
}

/// The topology: NUMA nodes with their CPUs, online logical CPUs, physical cores.
struct Topology {
    nodes: Vec<(u32, Vec<u32>)>,
    logical: Vec<u32>,
    physical_cores: usize,
}

impl Topology {
    fn read() -> Topology {
        let logical = read(format!("{CPUS}/online"))
            .and_then(|t| parse_cpu_list(&t))
            .filter(|c| !c.is_empty())
            .unwrap_or_else(|| {
                let n = std::thread::available_parallelism().map_or(1, |n| n.get());
                (0..n as u32).collect()
            });
        let mut nodes: Vec<(u32, Vec<u32>)> = std::fs::read_dir(NODES)
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|entry| {
                let name = entry.file_name().into_string().ok()?;
                let id = name.strip_prefix("node")?.parse::<u32>().ok()?;
                let cpus = read(entry.path().join("cpulist")).and_then(|t| parse_cpu_list(&t))?;
                Some((id, cpus))
            })
            .collect();
        nodes.sort();
        if nodes.is_empty() {
            // No NUMA support in the kernel: one node holding every CPU.
            nodes.push((0, logical.clone()));
        }
        let cores: BTreeSet<(String, String)> = logical
            .iter()
            .filter_map(|cpu| {
                let dir = format!("{CPUS}/cpu{cpu}/topology");
                Some((
                    read(format!("{dir}/physical_package_id"))?,
                    read(format!("{dir}/core_id"))?,
                ))
            })
            .collect();
        let physical_cores = if cores.is_empty() {
            logical.len()
        } else {
            cores.len()
        };
        Topology {
            nodes,
            logical,
            physical_cores,
        }
    }

    /// dgen-py 0.3.0's keys: `num_nodes`, `physical_cores`, `logical_cpus`, `is_uma`,
    /// `deployment_type`; plus `numa_placement` (always False: reported, not used).
    fn summary<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        let num_nodes = self.nodes.len();
        d.set_item("num_nodes", num_nodes)?;
        d.set_item("physical_cores", self.physical_cores)?;
        d.set_item("logical_cpus", self.logical.len())?;
        d.set_item("is_uma", num_nodes <= 1)?;
        let kind = if num_nodes <= 1 {
            "UMA (one NUMA node)".to_string()
        } else {
            format!("NUMA ({num_nodes} nodes)")
        };
        d.set_item("deployment_type", kind)?;
        d.set_item("numa_placement", false)?;
        Ok(d)
    }
}

/// The machine's topology from `/sys`: `num_nodes`, `physical_cores`, `logical_cpus`,
/// `is_uma`, `deployment_type`, `numa_placement` (False: dgen_py does not place threads or
/// memory on nodes).
#[pyfunction]
pub fn get_system_info(py: Python<'_>) -> PyResult<Bound<'_, PyDict>> {
    Topology::read().summary(py)
}

/// As `get_system_info`, plus `nodes`: one dict per NUMA node, `{"node": id, "cpus": [...]}`.
#[pyfunction]
pub fn get_numa_info(py: Python<'_>) -> PyResult<Bound<'_, PyDict>> {
    let topo = Topology::read();
    let d = topo.summary(py)?;
    let nodes = PyList::empty(py);
    for (id, cpus) in &topo.nodes {
        let node = PyDict::new(py);
        node.set_item("node", id)?;
        node.set_item("cpus", cpus)?;
        nodes.append(node)?;
    }
    d.set_item("nodes", nodes)?;
    Ok(d)
}

#[cfg(test)]
mod tests {
    use super::parse_cpu_list;

    #[test]
    fn cpu_lists() {
        assert_eq!(
            parse_cpu_list("0-3,8,10-11\n"),
            Some(vec![0, 1, 2, 3, 8, 10, 11])
        );
        assert_eq!(parse_cpu_list(""), Some(vec![]));
        assert_eq!(parse_cpu_list("3-1"), None);
        assert_eq!(parse_cpu_list("x"), None);
    }
}
