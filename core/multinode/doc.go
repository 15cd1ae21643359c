// Package multinode coordinates LAVA multinode groups (issue 21): the
// messages of the multinode API (lava-send, lava-wait, lava-wait-all,
// lava-sync) between the sub-jobs of a group, which may run on different
// workers, and the group's fate: a sub-job that ends Incomplete fails the
// group (the others end Incomplete with the reason), one canceled cancels
// the others.
//
// The Coordinator lives in lava-server; workers reach it through the
// worker protocol (core/workerproto's multinode routes). Messages are kept
// in memory: a server restart loses the messages of running groups (their
// waits then time out).
package multinode
