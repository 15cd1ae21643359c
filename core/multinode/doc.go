// Package multinode coordinates LAVA multinode groups (issue 21): the
// messages of the multinode API (lava-send, lava-wait, lava-wait-all,
// lava-sync) between the sub-jobs of a group, which may run on different
// workers, and the group's fate: a sub-job that ends Incomplete fails the
// group (the others end Incomplete with the reason), one canceled cancels
// the others.
//
// The Coordinator lives in lava-server; workers reach it through the
// worker protocol (core/workerproto's multinode routes). The messages live
// in the store (store.MultinodeMessages) and the group's fate derives from
// its sub-jobs' states there: a restarted lava-server, or another instance
// on the same PostgreSQL database, answers the group's waits alike; a
// message stored on one instance wakes the waits of every instance
// (store.TopicMultinode). The coordinator only caches them.
package multinode
