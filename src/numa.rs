//! NUMA: the machine's topology, read from sysfs under any root (so placement can be tested on a
//! simulated multi-node tree), and placement of threads and memory on one node.
//!
//! Placement goes through the kernel's own interface, the system calls libnuma wraps:
//! `sched_setaffinity` (threads on the node's CPUs), `set_mempolicy` (a thread's future
//! allocations) and `mbind` (a buffer's pages), made with the `libc` crate. Nothing is loaded at
//! run time, so one binary (or Python wheel) works on every Linux, with or without libnuma
//! installed; a kernel without NUMA support (or a sandbox that forbids the calls) is reported by
//! the calls' own errors.
//!
//! * [`Topology::read`] / [`Topology::read_from`]: nodes, their CPUs and memory, online CPUs,
//!   physical cores.
//! * [`plan`]: what `numa_mode` (`auto` / `force` / `disabled`) and `numa_node` mean on a
//!   topology: a [`Placement`] or none, with a note when `auto` had to give up.
//! * [`Placement::bind_thread`] (inherited by threads the bound thread starts) and
//!   [`Placement::bind_memory`]; [`current`] is the placement the calling thread was bound to
//!   (the pipeline's buffer pool follows it).

use crate::error::{Error, Result};
use std::cell::RefCell;
use std::collections::BTreeSet;
use std::fmt;
use std::path::Path;
use std::str::FromStr;

/// One NUMA node.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Node {
    /// The kernel's node number.
    pub id: u32,
    /// Its CPUs (logical CPU numbers).
    pub cpus: Vec<u32>,
    /// Whether it has memory (a CPU-only node cannot hold pages).
    pub has_memory: bool,
}

/// The machine's CPUs and NUMA nodes, as Linux reports them under `/sys/devices/system`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Topology {
    /// Nodes in increasing id order; one node holding every CPU when the kernel has no NUMA.
    pub nodes: Vec<Node>,
    /// Online logical CPUs.
    pub online_cpus: Vec<u32>,
    /// Distinct (package, core) pairs among the online CPUs.
    pub physical_cores: usize,
}

/// Parses a kernel CPU or node list such as `0-3,8,10-11`; `None` if malformed.
pub fn parse_list(text: &str) -> Option<Vec<u32>> {
    let mut out = Vec::new();
    for part in text.trim().split(',').filter(|p| !p.is_empty()) {
        match part.split_once('-') {
            Some((a, b)) => {
                let (a, b) = (a.parse::<u32>().ok()?, b.parse::<u32>().ok()?);
                if a > b {
                    return None;
                }
                out.extend(a..=b);
            }
            None => out.push(part.parse().ok()?),
        }
    }
    Some(out)
}

fn read_text(path: &Path) -> Option<String> {
    std::fs::read_to_string(path)
        .ok()
        .map(|s| s.trim().to_string())
}

impl Topology {
    /// The running machine's topology (`/sys`).
    pub fn read() -> Topology {
        Topology::read_from(Path::new("/"))
    }

    /// The topology under `root` (`root/sys/devices/system/{node,cpu}`): `/` for the machine, a
    /// directory holding a fake tree in tests. Missing files give a one-node machine with the
    /// CPUs this process can count.
    pub fn read_from(root: &Path) -> Topology {
        let system = root.join("sys/devices/system");
        let cpu_dir = system.join("cpu");
        let node_dir = system.join("node");
        let online_cpus = read_text(&cpu_dir.join("online"))
            .and_then(|t| parse_list(&t))
            .filter(|c| !c.is_empty())
            .unwrap_or_else(|| {
                let n = std::thread::available_parallelism().map_or(1, |n| n.get());
                (0..n as u32).collect()
            });
        let with_memory: Option<BTreeSet<u32>> = read_text(&node_dir.join("has_memory"))
            .and_then(|t| parse_list(&t))
            .map(|v| v.into_iter().collect());
        let mut nodes: Vec<Node> = std::fs::read_dir(&node_dir)
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|entry| {
                let name = entry.file_name().into_string().ok()?;
                let id = name.strip_prefix("node")?.parse::<u32>().ok()?;
                let cpus = read_text(&entry.path().join("cpulist")).and_then(|t| parse_list(&t))?;
                let has_memory = with_memory.as_ref().is_none_or(|m| m.contains(&id));
                Some(Node {
                    id,
                    cpus,
                    has_memory,
                })
            })
            .collect();
        nodes.sort_by_key(|n| n.id);
        if nodes.is_empty() {
            nodes.push(Node {
                id: 0,
                cpus: online_cpus.clone(),
                has_memory: true,
            });
        }
        let cores: BTreeSet<(String, String)> = online_cpus
            .iter()
            .filter_map(|cpu| {
                let dir = cpu_dir.join(format!("cpu{cpu}/topology"));
                Some((
                    read_text(&dir.join("physical_package_id"))?,
                    read_text(&dir.join("core_id"))?,
                ))
            })
            .collect();
        let physical_cores = if cores.is_empty() {
            online_cpus.len()
        } else {
            cores.len()
        };
        Topology {
            nodes,
            online_cpus,
            physical_cores,
        }
    }

    /// The node `id`, if the machine has it.
    pub fn node(&self, id: u32) -> Option<&Node> {
        self.nodes.iter().find(|n| n.id == id)
    }

    /// The node holding `cpu`.
    pub fn node_of_cpu(&self, cpu: u32) -> Option<u32> {
        self.nodes
            .iter()
            .find(|n| n.cpus.contains(&cpu))
            .map(|n| n.id)
    }

    /// True with one node (uniform memory access).
    pub fn is_uma(&self) -> bool {
        self.nodes.len() <= 1
    }

    fn node_ids(&self) -> Vec<u32> {
        self.nodes.iter().map(|n| n.id).collect()
    }
}

/// What to do about NUMA (dgen-py's `numa_mode`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum NumaMode {
    /// Place on `numa_node` when it is given and the machine has several nodes; otherwise, or
    /// when placement is impossible, leave placement to the kernel (with a note).
    #[default]
    Auto,
    /// Place, on `numa_node` or else the node of the calling CPU, whatever the machine (also on a
    /// one-node machine); anything that prevents it is an error.
    Force,
    /// Never place.
    Disabled,
}

impl FromStr for NumaMode {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "auto" => Ok(NumaMode::Auto),
            "force" => Ok(NumaMode::Force),
            "disabled" => Ok(NumaMode::Disabled),
            _ => Err(Error::invalid(
                "numa_mode",
                format!("{s:?} (expected 'auto', 'force' or 'disabled')"),
            )),
        }
    }
}

impl fmt::Display for NumaMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            NumaMode::Auto => "auto",
            NumaMode::Force => "force",
            NumaMode::Disabled => "disabled",
        })
    }
}

/// Threads and memory on one node.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Placement {
    /// The node.
    pub node: u32,
    /// Its CPUs that this process may run on (never empty).
    pub cpus: Vec<u32>,
    /// `force`: memory must come from the node (`MPOL_BIND`) and a failed call is an error.
    /// `auto`: the node is preferred (`MPOL_PREFERRED`, other nodes when it is full) and a failed
    /// call leaves placement to the kernel.
    pub strict: bool,
    /// Whether memory is placed too (false for a CPU-only node under `auto`).
    pub memory: bool,
}

/// The outcome of [`plan`]: a placement or none, and why `auto` placed nothing when it was asked
/// to (for a warning).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Plan {
    /// What to apply; `None`: the kernel's default placement.
    pub placement: Option<Placement>,
    /// Why a requested node was not used (`auto` only).
    pub note: Option<String>,
}

/// Decides where threads and memory go for `mode` and `node` on `topo`, for a process allowed to
/// run on `allowed` CPUs and currently on `current_cpu`.
///
/// * `disabled`: nowhere. `auto`: on `node` when it is given and `topo` has several nodes (a
///   one-node machine has nothing to choose: a documented no-op); a node that does not exist or
///   has none of the allowed CPUs is skipped with a note.
/// * `force`: on `node`, or else the node of `current_cpu` (else the first with allowed CPUs),
///   on any machine; a node that does not exist, has none of the allowed CPUs or has no memory
///   is an error naming `numa_node`.
pub fn plan(
    topo: &Topology,
    mode: NumaMode,
    node: Option<u32>,
    allowed: &[u32],
    current_cpu: Option<u32>,
) -> Result<Plan> {
    let usable = |n: &Node| -> Vec<u32> {
        n.cpus
            .iter()
            .copied()
            .filter(|c| allowed.contains(c))
            .collect()
    };
    match mode {
        NumaMode::Disabled => Ok(Plan::default()),
        NumaMode::Auto => {
            let Some(id) = node else {
                return Ok(Plan::default());
            };
            if topo.is_uma() && topo.node(id).is_some() {
                return Ok(Plan::default());
            }
            let note = |why: String| {
                Ok(Plan {
                    placement: None,
                    note: Some(format!(
                        "numa_node={id} ignored (numa_mode='auto'): {why}; placement left to the \
                         kernel"
                    )),
                })
            };
            let Some(n) = topo.node(id) else {
                return note(format!(
                    "this machine has no NUMA node {id} (nodes {:?})",
                    topo.node_ids()
                ));
            };
            let cpus = usable(n);
            if cpus.is_empty() {
                return note(format!(
                    "none of node {id}'s CPUs {:?} is in this process's CPU set {allowed:?}",
                    n.cpus
                ));
            }
            Ok(Plan {
                placement: Some(Placement {
                    node: id,
                    cpus,
                    strict: false,
                    memory: n.has_memory,
                }),
                note: None,
            })
        }
        NumaMode::Force => {
            let id = match node {
                Some(id) => id,
                None => current_cpu
                    .and_then(|c| topo.node_of_cpu(c))
                    .or_else(|| {
                        topo.nodes
                            .iter()
                            .find(|n| !usable(n).is_empty())
                            .map(|n| n.id)
                    })
                    .ok_or_else(|| {
                        Error::invalid(
                            "numa_node",
                            "None (numa_mode='force'): no node holds a CPU this process may use",
                        )
                    })?,
            };
            let Some(n) = topo.node(id) else {
                return Err(Error::invalid(
                    "numa_node",
                    format!(
                        "{id} (numa_mode='force'): this machine has no NUMA node {id} (nodes {:?})",
                        topo.node_ids()
                    ),
                ));
            };
            let cpus = usable(n);
            if cpus.is_empty() {
                return Err(Error::invalid(
                    "numa_node",
                    format!(
                        "{id} (numa_mode='force'): none of its CPUs {:?} is in this process's \
                         CPU set {allowed:?}",
                        n.cpus
                    ),
                ));
            }
            if !n.has_memory {
                return Err(Error::invalid(
                    "numa_node",
                    format!("{id} (numa_mode='force'): the node has no memory to place buffers on"),
                ));
            }
            Ok(Plan {
                placement: Some(Placement {
                    node: id,
                    cpus,
                    strict: true,
                    memory: true,
                }),
                note: None,
            })
        }
    }
}

/// [`plan`] for this process: the machine's topology, the calling thread's CPU set and CPU.
pub fn plan_here(mode: NumaMode, node: Option<u32>) -> Result<Plan> {
    if mode == NumaMode::Disabled {
        return Ok(Plan::default());
    }
    let topo = Topology::read();
    let allowed = allowed_cpus().unwrap_or_else(|_| topo.online_cpus.clone());
    plan(&topo, mode, node, &allowed, current_cpu())
}

thread_local! {
    static BOUND: RefCell<Option<Placement>> = const { RefCell::new(None) };
}

/// The placement the calling thread was bound to with [`Placement::bind_thread`], if any.
pub fn current() -> Option<Placement> {
    BOUND.with(|b| b.borrow().clone())
}

/// `MPOL_MF_MOVE`: also move pages already allocated (`linux/mempolicy.h`).
const MPOL_MF_MOVE: libc::c_uint = 1 << 1;
/// `get_mempolicy` flags (`linux/mempolicy.h`).
const MPOL_F_NODE: libc::c_ulong = 1 << 0;
const MPOL_F_ADDR: libc::c_ulong = 1 << 1;

/// A kernel bitmask (CPU or node set) of `bits` entries as `unsigned long` words.
fn mask_of(items: &[u32]) -> Vec<libc::c_ulong> {
    let bits = libc::c_ulong::BITS as usize;
    let top = items.iter().copied().max().unwrap_or(0) as usize;
    let mut mask = vec![0 as libc::c_ulong; top / bits + 1];
    for &i in items {
        mask[i as usize / bits] |= 1 << (i as usize % bits);
    }
    mask
}

fn items_of(mask: &[libc::c_ulong]) -> Vec<u32> {
    let bits = libc::c_ulong::BITS as usize;
    (0..mask.len() * bits)
        .filter(|&i| mask[i / bits] & (1 << (i % bits)) != 0)
        .map(|i| i as u32)
        .collect()
}

/// The CPUs the calling thread may run on (`sched_getaffinity`).
pub fn allowed_cpus() -> std::io::Result<Vec<u32>> {
    let mut words = 16; // 1024 CPUs, grown on EINVAL
    loop {
        let mut mask = vec![0 as libc::c_ulong; words];
        let bytes = std::mem::size_of_val(mask.as_slice());
        // SAFETY: the kernel writes at most `bytes` bytes into `mask`, which holds that many.
        let rc = unsafe { libc::syscall(libc::SYS_sched_getaffinity, 0, bytes, mask.as_mut_ptr()) };
        if rc >= 0 {
            return Ok(items_of(&mask));
        }
        let e = std::io::Error::last_os_error();
        if e.raw_os_error() != Some(libc::EINVAL) || words >= 1 << 16 {
            return Err(e);
        }
        words *= 2;
    }
}

/// The CPU the calling thread runs on now.
pub fn current_cpu() -> Option<u32> {
    // SAFETY: sched_getcpu takes no arguments and returns -1 on failure.
    let cpu = unsafe { libc::sched_getcpu() };
    u32::try_from(cpu).ok()
}

/// Whether this kernel lets this process make NUMA placement calls (`get_mempolicy`).
pub fn supported() -> bool {
    let mut mode: libc::c_int = 0;
    // SAFETY: reads the calling thread's policy mode into `mode`; no node mask is asked for.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_get_mempolicy,
            &mut mode as *mut libc::c_int,
            std::ptr::null_mut::<libc::c_ulong>(),
            0 as libc::c_ulong,
            std::ptr::null_mut::<libc::c_void>(),
            0 as libc::c_ulong,
        )
    };
    rc == 0
}

/// The memory policy of the page holding `addr` (`get_mempolicy` with `MPOL_F_ADDR`): the mode
/// (`libc::MPOL_BIND`, ...) and its nodes. For tests and diagnostics.
pub fn policy_of(addr: *const u8) -> std::io::Result<(libc::c_int, Vec<u32>)> {
    let mut mode: libc::c_int = 0;
    let mut mask = vec![0 as libc::c_ulong; 16];
    let maxnode = (mask.len() * libc::c_ulong::BITS as usize) as libc::c_ulong;
    // SAFETY: the kernel writes the mode into `mode` and at most `maxnode` bits into `mask`;
    // `addr` is only looked up in this process's mappings.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_get_mempolicy,
            &mut mode as *mut libc::c_int,
            mask.as_mut_ptr(),
            maxnode,
            addr as *mut libc::c_void,
            MPOL_F_ADDR,
        )
    };
    if rc != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok((mode, items_of(&mask)))
}

/// The node holding the page at `addr` (which must be resident: touch it first).
pub fn node_of(addr: *const u8) -> std::io::Result<u32> {
    let mut node: libc::c_int = -1;
    // SAFETY: with MPOL_F_NODE | MPOL_F_ADDR the kernel writes the node of the page at `addr`
    // into `node`; no mask is passed.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_get_mempolicy,
            &mut node as *mut libc::c_int,
            std::ptr::null_mut::<libc::c_ulong>(),
            0 as libc::c_ulong,
            addr as *mut libc::c_void,
            MPOL_F_NODE | MPOL_F_ADDR,
        )
    };
    if rc != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(node as u32)
}

impl Placement {
    /// The memory policy mode: `MPOL_BIND` when strict, else `MPOL_PREFERRED`.
    fn mode(&self) -> libc::c_int {
        if self.strict {
            libc::MPOL_BIND
        } else {
            libc::MPOL_PREFERRED
        }
    }

    /// Turns a failed call into the caller's outcome: an error under `force`, nothing under
    /// `auto` (the kernel's default placement stays).
    fn outcome(&self, what: &str, rc: std::io::Result<()>) -> Result<()> {
        match rc {
            Err(e) if self.strict => Err(Error::invalid(
                "numa_mode",
                format!("'force': cannot {what} on NUMA node {}: {e}", self.node),
            )),
            _ => Ok(()),
        }
    }

    /// Pins the calling thread to the node's CPUs and makes its future allocations come from the
    /// node; threads it starts afterwards inherit both (Linux keeps affinity and memory policy
    /// across `clone`). Remembered for [`current`].
    pub fn bind_thread(&self) -> Result<()> {
        let cpus = mask_of(&self.cpus);
        let bytes = std::mem::size_of_val(cpus.as_slice());
        // SAFETY: the kernel reads `bytes` bytes of CPU mask from `cpus`, which holds that many.
        let rc = unsafe { libc::syscall(libc::SYS_sched_setaffinity, 0, bytes, cpus.as_ptr()) };
        self.outcome("pin a thread", check(rc))?;
        if self.memory {
            let nodes = mask_of(&[self.node]);
            let maxnode = (nodes.len() * libc::c_ulong::BITS as usize + 1) as libc::c_ulong;
            // SAFETY: the kernel reads `maxnode - 1` bits of node mask from `nodes`, which holds
            // that many.
            let rc = unsafe {
                libc::syscall(
                    libc::SYS_set_mempolicy,
                    self.mode(),
                    nodes.as_ptr(),
                    maxnode,
                )
            };
            self.outcome("set the memory policy", check(rc))?;
        }
        BOUND.with(|b| *b.borrow_mut() = Some(self.clone()));
        Ok(())
    }

    /// Places the whole pages of `len` bytes at `ptr` on the node (`mbind`, moving pages already
    /// there); partial pages at the ends are left alone (they may belong to other allocations).
    pub fn bind_memory(&self, ptr: *const u8, len: usize) -> Result<()> {
        if !self.memory {
            return Ok(());
        }
        let page = 4096usize;
        let start = (ptr as usize).div_ceil(page) * page;
        let end = (ptr as usize).saturating_add(len) / page * page;
        if end <= start {
            return Ok(());
        }
        let nodes = mask_of(&[self.node]);
        let maxnode = (nodes.len() * libc::c_ulong::BITS as usize + 1) as libc::c_ulong;
        // SAFETY: mbind changes only the policy (and placement) of pages in
        // [start, end), which lie inside the caller's allocation; their contents are kept; the
        // kernel reads `maxnode - 1` bits of node mask from `nodes`.
        let rc = unsafe {
            libc::syscall(
                libc::SYS_mbind,
                start as *mut libc::c_void,
                (end - start) as libc::c_ulong,
                self.mode(),
                nodes.as_ptr(),
                maxnode,
                MPOL_MF_MOVE,
            )
        };
        self.outcome("place memory", check(rc))
    }
}

/// Gives the whole pages of `len` bytes at `ptr` the default policy again (before the memory is
/// freed: a heap range keeps its policy, so whatever reuses it next would be placed too). The
/// pages stay where they are.
pub fn reset_memory(ptr: *const u8, len: usize) -> std::io::Result<()> {
    let page = 4096usize;
    let start = (ptr as usize).div_ceil(page) * page;
    let end = (ptr as usize).saturating_add(len) / page * page;
    if end <= start {
        return Ok(());
    }
    // SAFETY: mbind with MPOL_DEFAULT and no node mask changes only the policy of the pages in
    // [start, end), inside the caller's allocation; no page is moved or changed.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_mbind,
            start as *mut libc::c_void,
            (end - start) as libc::c_ulong,
            libc::MPOL_DEFAULT,
            std::ptr::null::<libc::c_ulong>(),
            0 as libc::c_ulong,
            0 as libc::c_uint,
        )
    };
    check(rc)
}

fn check(rc: libc::c_long) -> std::io::Result<()> {
    if rc == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    /// A fake sysfs tree: `nodes` as (id, cpulist), `has_memory` as a node list.
    fn fake(nodes: &[(u32, &str)], online: &str, has_memory: Option<&str>) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        let sys = dir.path().join("sys/devices/system");
        fs::create_dir_all(sys.join("cpu")).unwrap();
        fs::write(sys.join("cpu/online"), format!("{online}\n")).unwrap();
        for cpu in parse_list(online).unwrap() {
            let t = sys.join(format!("cpu/cpu{cpu}/topology"));
            fs::create_dir_all(&t).unwrap();
            // Two hyperthreads per core.
            fs::write(t.join("physical_package_id"), "0\n").unwrap();
            fs::write(t.join("core_id"), format!("{}\n", cpu / 2)).unwrap();
        }
        for (id, cpus) in nodes {
            let n = sys.join(format!("node/node{id}"));
            fs::create_dir_all(&n).unwrap();
            fs::write(n.join("cpulist"), format!("{cpus}\n")).unwrap();
        }
        if let Some(m) = has_memory {
            fs::write(sys.join("node/has_memory"), format!("{m}\n")).unwrap();
        }
        dir
    }

    fn two_nodes() -> (tempfile::TempDir, Topology) {
        let dir = fake(&[(0, "0-3"), (1, "4-7"), (2, "8-9")], "0-9", Some("0-1"));
        let topo = Topology::read_from(dir.path());
        (dir, topo)
    }

    const ALL: &[u32] = &[0, 1, 2, 3, 4, 5, 6, 7, 8, 9];

    #[test]
    fn lists_parse() {
        assert_eq!(
            parse_list("0-3,8,10-11\n"),
            Some(vec![0, 1, 2, 3, 8, 10, 11])
        );
        assert_eq!(parse_list(""), Some(vec![]));
        assert_eq!(parse_list("3-1"), None);
        assert_eq!(parse_list("x"), None);
    }

    #[test]
    fn a_fake_tree_is_read() {
        let (_d, t) = two_nodes();
        assert_eq!(t.nodes.len(), 3);
        assert_eq!(t.node(1).unwrap().cpus, vec![4, 5, 6, 7]);
        assert!(t.node(1).unwrap().has_memory && !t.node(2).unwrap().has_memory);
        assert_eq!(t.online_cpus.len(), 10);
        assert_eq!(t.physical_cores, 5);
        assert_eq!(t.node_of_cpu(9), Some(2));
        assert!(!t.is_uma());
        // No node directory: one node holding every online CPU.
        let d = fake(&[], "0-1", None);
        let t = Topology::read_from(d.path());
        assert!(t.is_uma() && t.nodes[0].cpus == vec![0, 1] && t.nodes[0].has_memory);
    }

    #[test]
    fn modes_parse_with_a_named_error() {
        assert_eq!("Force".parse::<NumaMode>().unwrap(), NumaMode::Force);
        let e = "sometimes".parse::<NumaMode>().unwrap_err().to_string();
        assert!(e.starts_with("invalid numa_mode: \"sometimes\""), "{e}");
    }

    #[test]
    fn auto_places_on_a_given_node_of_a_multi_node_machine_only() {
        let (_d, t) = two_nodes();
        assert_eq!(
            plan(&t, NumaMode::Auto, None, ALL, Some(5)).unwrap(),
            Plan::default()
        );
        let p = plan(&t, NumaMode::Auto, Some(1), ALL, None).unwrap();
        let placed = p.placement.unwrap();
        assert_eq!(
            (placed.node, placed.cpus, placed.strict, placed.memory),
            (1, vec![4, 5, 6, 7], false, true)
        );
        // A CPU-only node: threads only.
        let p = plan(&t, NumaMode::Auto, Some(2), ALL, None).unwrap();
        assert!(!p.placement.unwrap().memory);
        // Missing node, or none of its CPUs allowed: nothing placed, with a note.
        let p = plan(&t, NumaMode::Auto, Some(7), ALL, None).unwrap();
        assert!(p.placement.is_none() && p.note.unwrap().contains("no NUMA node 7"));
        let p = plan(&t, NumaMode::Auto, Some(1), &[0, 1], None).unwrap();
        assert!(p.placement.is_none() && p.note.unwrap().contains("CPU set"));
        // One node: a no-op.
        let d = fake(&[(0, "0-1")], "0-1", None);
        let uma = Topology::read_from(d.path());
        assert_eq!(
            plan(&uma, NumaMode::Auto, Some(0), &[0, 1], None).unwrap(),
            Plan::default()
        );
    }

    #[test]
    fn force_places_or_fails_naming_the_argument() {
        let (_d, t) = two_nodes();
        let placed = plan(&t, NumaMode::Force, Some(1), &[1, 5, 6], None)
            .unwrap()
            .placement
            .unwrap();
        assert_eq!(
            (placed.node, placed.cpus, placed.strict),
            (1, vec![5, 6], true)
        );
        // Without a node: the node of the current CPU.
        let placed = plan(&t, NumaMode::Force, None, ALL, Some(6))
            .unwrap()
            .placement
            .unwrap();
        assert_eq!(placed.node, 1);
        let e = plan(&t, NumaMode::Force, Some(3), ALL, None)
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "invalid numa_node: 3 (numa_mode='force'): this machine has no NUMA node 3 (nodes [0, 1, 2])"
        );
        let e = plan(&t, NumaMode::Force, Some(1), &[0, 1], None)
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("invalid numa_node: 1 (numa_mode='force'): none of its CPUs"),
            "{e}"
        );
        let e = plan(&t, NumaMode::Force, Some(2), ALL, None)
            .unwrap_err()
            .to_string();
        assert!(e.contains("no memory"), "{e}");
        assert_eq!(
            plan(&t, NumaMode::Disabled, Some(3), ALL, None).unwrap(),
            Plan::default()
        );
    }

    /// A strict placement on the machine's node 0 (this machine may have one node: placement is
    /// then observable through the calls' own read-back, not through speed).
    fn node0_here() -> Placement {
        plan_here(NumaMode::Force, Some(0))
            .unwrap()
            .placement
            .unwrap()
    }

    #[test]
    fn a_bound_thread_runs_on_the_node_cpus_with_its_policy_and_children_inherit_it() {
        if !supported() {
            eprintln!("skipped: NUMA calls not permitted here");
            return;
        }
        // One CPU of the node, so that pinning shows even where the node holds every CPU.
        let node0 = node0_here();
        let p = Placement {
            cpus: vec![*node0.cpus.last().unwrap()],
            ..node0
        };
        std::thread::spawn(move || {
            assert_eq!(current(), None);
            p.bind_thread().unwrap();
            assert_eq!(current(), Some(p.clone()));
            assert_eq!(allowed_cpus().unwrap(), p.cpus);
            let child = std::thread::spawn(|| {
                let mut mode = 0;
                let mut mask = [0 as libc::c_ulong; 16];
                // SAFETY: as in `policy_of`, for the thread's own policy (no address).
                let rc = unsafe {
                    libc::syscall(
                        libc::SYS_get_mempolicy,
                        &mut mode as *mut libc::c_int,
                        mask.as_mut_ptr(),
                        (16 * libc::c_ulong::BITS) as libc::c_ulong,
                        std::ptr::null_mut::<libc::c_void>(),
                        0 as libc::c_ulong,
                    )
                };
                assert_eq!(rc, 0);
                (allowed_cpus().unwrap(), mode, items_of(&mask))
            })
            .join()
            .unwrap();
            assert_eq!(child, (p.cpus.clone(), libc::MPOL_BIND, vec![0]));
        })
        .join()
        .unwrap();
    }

    #[test]
    fn bound_memory_has_the_policy_and_lives_on_the_node() {
        if !supported() {
            eprintln!("skipped: NUMA calls not permitted here");
            return;
        }
        let p = node0_here();
        let mut buf = vec![0u8; 1 << 20];
        p.bind_memory(buf.as_ptr(), buf.len()).unwrap();
        buf.iter_mut().step_by(4096).for_each(|b| *b = 1);
        let inner = buf[8192..].as_ptr();
        assert_eq!(policy_of(inner).unwrap(), (libc::MPOL_BIND, vec![0]));
        assert_eq!(node_of(inner).unwrap(), 0);
        reset_memory(buf.as_ptr(), buf.len()).unwrap();
        assert_eq!(policy_of(inner).unwrap().0, libc::MPOL_DEFAULT);
        // Preferred (auto) placement.
        let auto = Placement { strict: false, ..p };
        let other = vec![0u8; 1 << 20];
        auto.bind_memory(other.as_ptr(), other.len()).unwrap();
        assert_eq!(
            policy_of(other[8192..].as_ptr()).unwrap(),
            (libc::MPOL_PREFERRED, vec![0])
        );
    }

    #[test]
    fn force_on_a_missing_node_of_this_machine_fails_before_any_call() {
        let topo = Topology::read();
        let missing = topo.nodes.iter().map(|n| n.id).max().unwrap() + 1;
        let e = plan_here(NumaMode::Force, Some(missing))
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with(&format!("invalid numa_node: {missing} (numa_mode='force')")),
            "{e}"
        );
    }
}
