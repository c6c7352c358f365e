//! `get_system_info` / `get_numa_info`: the machine's CPU and NUMA topology as Linux reports
//! it under `/sys` (`dgen::numa::Topology`), with dgen-py 0.3.0's dictionary keys.

use dgen::numa::{self, Topology};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};

/// dgen-py 0.3.0's keys: `num_nodes`, `physical_cores`, `logical_cpus`, `is_uma`,
/// `deployment_type`; plus `numa_placement` (whether this process may place threads and memory).
fn summary<'py>(py: Python<'py>, topo: &Topology) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    let num_nodes = topo.nodes.len();
    d.set_item("num_nodes", num_nodes)?;
    d.set_item("physical_cores", topo.physical_cores)?;
    d.set_item("logical_cpus", topo.online_cpus.len())?;
    d.set_item("is_uma", topo.is_uma())?;
    let kind = if topo.is_uma() {
        "UMA (one NUMA node)".to_string()
    } else {
        format!("NUMA ({num_nodes} nodes)")
    };
    d.set_item("deployment_type", kind)?;
    d.set_item("numa_placement", numa::supported())?;
    Ok(d)
}

/// The machine's topology from `/sys`: `num_nodes`, `physical_cores`, `logical_cpus`,
/// `is_uma`, `deployment_type`, `numa_placement` (True when the kernel lets this process place
/// threads and memory on nodes: `numa_mode`/`numa_node` then take effect).
#[pyfunction]
pub fn get_system_info(py: Python<'_>) -> PyResult<Bound<'_, PyDict>> {
    summary(py, &Topology::read())
}

/// As `get_system_info`, plus `nodes`: one dict per NUMA node,
/// `{"node": id, "cpus": [...], "has_memory": bool}`.
#[pyfunction]
pub fn get_numa_info(py: Python<'_>) -> PyResult<Bound<'_, PyDict>> {
    let topo = Topology::read();
    let d = summary(py, &topo)?;
    let nodes = PyList::empty(py);
    for node in &topo.nodes {
        let n = PyDict::new(py);
        n.set_item("node", node.id)?;
        n.set_item("cpus", &node.cpus)?;
        n.set_item("has_memory", node.has_memory)?;
        nodes.append(n)?;
    }
    d.set_item("nodes", nodes)?;
    Ok(d)
}
