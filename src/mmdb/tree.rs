//! The MMDB search tree: a binary trie over the 128 bits of an IPv6 address, IPv4
//! under `::/96` as MaxMind's files put it, each node two records (a node, no data,
//! or a pointer into the data section), packed in 24, 28 or 32 bits.

/// A node's child while building.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum Child {
    Empty,
    Node(u32),
    Data(u32),
}

/// A search tree under construction; node 0 is the root.
pub struct SearchTree {
    nodes: Vec<[Child; 2]>,
}

impl Default for SearchTree {
    fn default() -> Self {
        SearchTree {
            nodes: vec![[Child::Empty; 2]],
        }
    }
}

fn bit(bits: u128, depth: u8) -> usize {
    ((bits >> (127 - depth)) & 1) as usize
}

impl SearchTree {
    pub fn node_count(&self) -> usize {
        self.nodes.len()
    }

    /// The node `len` bits down the path of `bits`, made where missing; an error
    /// where a record with data is on the way (a network covers that place).
    pub fn node_at(&mut self, bits: u128, len: u8) -> Result<u32, String> {
        let mut node = 0u32;
        for depth in 0..len {
            let b = bit(bits, depth);
            node = match self.nodes[node as usize][b] {
                Child::Node(n) => n,
                Child::Empty => {
                    let n = self.nodes.len() as u32;
                    self.nodes.push([Child::Empty; 2]);
                    self.nodes[node as usize][b] = Child::Node(n);
                    n
                }
                Child::Data(_) => return Err(format!("a network covers {bits:#x}/{depth}")),
            };
        }
        Ok(node)
    }

    /// Set the record of the network `bits/len` (len ≥ 1), which must be empty.
    fn set(&mut self, bits: u128, len: u8, child: Child) -> Result<(), String> {
        let parent = self.node_at(bits, len - 1)?;
        let slot = &mut self.nodes[parent as usize][bit(bits, len - 1)];
        if *slot != Child::Empty {
            return Err(format!("networks overlap at {bits:#x}/{len}"));
        }
        *slot = child;
        Ok(())
    }

    /// The network `bits/len` answers with the data at `offset`. Networks must not
    /// overlap one another.
    pub fn insert(&mut self, bits: u128, len: u8, offset: u32) -> Result<(), String> {
        match len {
            0 => {
                self.nodes[0] = [Child::Data(offset); 2];
                Ok(())
            }
            _ => self.set(bits, len, Child::Data(offset)),
        }
    }

    /// The network `bits/len` answers as the network `target` does (an IPv4
    /// alias): the same node, or the same data where `target` lies inside one
    /// network. Nothing where `target` has no data.
    pub fn alias(&mut self, bits: u128, len: u8, target: (u128, u8)) -> Result<(), String> {
        let (t, tlen) = target;
        let mut child = Child::Node(0);
        for depth in 0..tlen {
            child = match child {
                Child::Node(n) => self.nodes[n as usize][bit(t, depth)],
                other => other,
            };
        }
        match child {
            Child::Empty => Ok(()),
            _ => self.set(bits, len, child),
        }
    }

    /// The tree's bytes at the smallest record size (of at least `min_size`) that
    /// holds every record, for a data section of `data_len` bytes; and that size.
    pub fn to_bytes(&self, data_len: usize, min_size: u16) -> Result<(Vec<u8>, u16), String> {
        let n = self.nodes.len() as u64;
        let max = n + 16 + data_len as u64;
        let size: u16 = match max {
            m if m < 1 << 24 && min_size <= 24 => 24,
            m if m < 1 << 28 && min_size <= 28 => 28,
            m if m < 1 << 32 => 32,
            _ => {
                return Err(format!(
                    "{n} nodes and {data_len} bytes of data are too many"
                ))
            }
        };
        let value = |c: Child| -> u32 {
            match c {
                Child::Empty => n as u32,
                Child::Node(i) => i,
                Child::Data(o) => n as u32 + 16 + o,
            }
        };
        let mut out = Vec::with_capacity(self.nodes.len() * size as usize / 4);
        for [l, r] in &self.nodes {
            let (l, r) = (value(*l).to_be_bytes(), value(*r).to_be_bytes());
            match size {
                24 => out.extend([l[1], l[2], l[3], r[1], r[2], r[3]]),
                // The middle byte holds the top 4 bits of each: left's high nibble.
                28 => out.extend([l[1], l[2], l[3], (l[0] << 4) | r[0], r[1], r[2], r[3]]),
                _ => out.extend(l.into_iter().chain(r)),
            }
        }
        Ok((out, size))
    }
}
