//go:build cgo

package natsserver

// #include <stdlib.h>
// #include "nats_server.h"
import "C"

import (
	"encoding/json"
	"fmt"
)

// Fault is a network fault with toxiproxy's meaning and JSON shape (a "toxic"): Type is latency, bandwidth,
// timeout, reset_peer, slow_close, slicer or limit_data; Stream is "upstream" (client to server) or "downstream"
// (server to client, the default); Toxicity is the probability per connection (nil: 1); Attributes are the
// type's attributes, e.g. {"latency": 50, "jitter": 5} in milliseconds. Name defaults to "<type>_<stream>".
type Fault struct {
	Name       string         `json:"name,omitempty"`
	Type       string         `json:"type"`
	Stream     string         `json:"stream,omitempty"`
	Toxicity   *float64       `json:"toxicity,omitempty"`
	Attributes map[string]any `json:"attributes"`
}

func (f Fault) document(op string) (*C.char, error) {
	if f.Attributes == nil {
		f.Attributes = map[string]any{}
	}
	text, err := json.Marshal(f)
	if err != nil {
		return nil, &Error{Status: StatusInvalidOptions, Message: fmt.Sprintf("natsserver: %s: %v", op, err)}
	}
	return cString(string(text), "fault")
}

// ProxiedURL is the client URL through the server's fault proxy (Options.ClientProxy).
func (s *Server) ProxiedURL() (string, error) {
	return s.str("ProxiedURL", func(h *C.nats_server_t, o, e **C.char) C.nats_server_status {
		return C.nats_server_proxied_url(h, o, e)
	})
}

// AddFault adds a fault to the client link (Options.ClientProxy). A bad value is ErrInvalidOptions naming it.
func (s *Server) AddFault(f Fault) error {
	doc, err := f.document("AddFault")
	if err != nil {
		return err
	}
	defer freeC(doc)
	return s.call("AddFault", func(h *C.nats_server_t, e **C.char) C.nats_server_status {
		return C.nats_server_fault_add(h, doc, e)
	})
}

// RemoveFault removes the client link's fault named name; an empty name removes every fault.
func (s *Server) RemoveFault(name string) error {
	var cn *C.char
	if name != "" {
		var err error
		if cn, err = cString(name, "name"); err != nil {
			return err
		}
		defer freeC(cn)
	}
	return s.call("RemoveFault", func(h *C.nats_server_t, e **C.char) C.nats_server_status {
		return C.nats_server_fault_remove(h, cn, e)
	})
}

// SetLinkUp takes the client link down (open connections closed, new ones refused) or up again.
func (s *Server) SetLinkUp(up bool) error {
	return s.call("SetLinkUp", func(h *C.nats_server_t, e **C.char) C.nats_server_status {
		return C.nats_server_link_set_up(h, C.bool(up), e)
	})
}

// ProxiedLeafNodeURL is the leaf node URL through a hub's fault proxy (Options.LeafNodeProxy): the one the hub
// advertises and its leaves connect to.
func (s *Server) ProxiedLeafNodeURL() (string, error) {
	return s.str("ProxiedLeafNodeURL", func(h *C.nats_server_t, o, e **C.char) C.nats_server_status {
		return C.nats_server_proxied_leafnode_url(h, o, e)
	})
}

// AddLeafNodeFault adds a fault to a hub's leaf node links (Options.LeafNodeProxy). A bad value is
// ErrInvalidOptions naming it.
func (s *Server) AddLeafNodeFault(f Fault) error {
	doc, err := f.document("AddLeafNodeFault")
	if err != nil {
		return err
	}
	defer freeC(doc)
	return s.call("AddLeafNodeFault", func(h *C.nats_server_t, e **C.char) C.nats_server_status {
		return C.nats_server_leafnode_fault_add(h, doc, e)
	})
}

// RemoveLeafNodeFault removes the leaf node links' fault named name; an empty name removes every fault.
func (s *Server) RemoveLeafNodeFault(name string) error {
	var cn *C.char
	if name != "" {
		var err error
		if cn, err = cString(name, "name"); err != nil {
			return err
		}
		defer freeC(cn)
	}
	return s.call("RemoveLeafNodeFault", func(h *C.nats_server_t, e **C.char) C.nats_server_status {
		return C.nats_server_leafnode_fault_remove(h, cn, e)
	})
}

// SetLeafNodeLinkUp cuts every leaf off a hub (reconnects refused) or lets them reconnect
// (WaitForLeafConnections waits for them).
func (s *Server) SetLeafNodeLinkUp(up bool) error {
	return s.call("SetLeafNodeLinkUp", func(h *C.nats_server_t, e **C.char) C.nats_server_status {
		return C.nats_server_leafnode_link_set_up(h, C.bool(up), e)
	})
}

// Partition cuts every route between nodes of different groups (0-based indexes), e.g. Partition([]int{0},
// []int{1, 2}); nodes not named form one more group together (ClusterOptions.RouteProxies). An index out of
// range or named twice is ErrInvalidArgument.
func (c *Cluster) Partition(groups ...[]int) error {
	if groups == nil {
		groups = [][]int{}
	}
	text, err := json.Marshal(groups)
	if err != nil {
		return err
	}
	doc, err := cString(string(text), "groups")
	if err != nil {
		return err
	}
	defer freeC(doc)
	return c.call("Partition", func(h *C.nats_cluster_t, e **C.char) C.nats_server_status {
		return C.nats_cluster_partition(h, doc, e)
	})
}

// Heal brings every route link up again after Partition.
func (c *Cluster) Heal() error {
	return c.call("Heal", func(h *C.nats_cluster_t, e **C.char) C.nats_server_status {
		return C.nats_cluster_heal(h, e)
	})
}

// AddRouteFault adds a fault to the route link node from dials to node to.
func (c *Cluster) AddRouteFault(from, to int, f Fault) error {
	doc, err := f.document("AddRouteFault")
	if err != nil {
		return err
	}
	defer freeC(doc)
	return c.call("AddRouteFault", func(h *C.nats_cluster_t, e **C.char) C.nats_server_status {
		return C.nats_cluster_route_fault_add(h, index(from), index(to), doc, e)
	})
}

// RemoveRouteFaults removes every fault from the route link node from dials to node to.
func (c *Cluster) RemoveRouteFaults(from, to int) error {
	return c.call("RemoveRouteFaults", func(h *C.nats_cluster_t, e **C.char) C.nats_server_status {
		return C.nats_cluster_route_fault_remove(h, index(from), index(to), nil, e)
	})
}

// Partition cuts every gateway link between clusters of different groups (0-based cluster indexes), e.g.
// Partition([]int{0}, []int{1}); clusters not named form one more group together; routes are untouched
// (SuperclusterOptions.GatewayProxies). An index out of range or named twice is ErrInvalidArgument.
func (sc *Supercluster) Partition(groups ...[]int) error {
	if groups == nil {
		groups = [][]int{}
	}
	text, err := json.Marshal(groups)
	if err != nil {
		return err
	}
	doc, err := cString(string(text), "groups")
	if err != nil {
		return err
	}
	defer freeC(doc)
	return sc.call("Partition", func(h *C.nats_supercluster_t, e **C.char) C.nats_server_status {
		return C.nats_supercluster_partition(h, doc, e)
	})
}

// Heal brings every gateway link up again after Partition.
func (sc *Supercluster) Heal() error {
	return sc.call("Heal", func(h *C.nats_supercluster_t, e **C.char) C.nats_server_status {
		return C.nats_supercluster_heal(h, e)
	})
}

// AddGatewayFault adds a fault to the gateway link node fromNode of cluster fromCluster dials to node toNode of
// cluster toCluster (the clusters differ).
func (sc *Supercluster) AddGatewayFault(fromCluster, fromNode, toCluster, toNode int, f Fault) error {
	doc, err := f.document("AddGatewayFault")
	if err != nil {
		return err
	}
	defer freeC(doc)
	return sc.call("AddGatewayFault", func(h *C.nats_supercluster_t, e **C.char) C.nats_server_status {
		return C.nats_supercluster_gateway_fault_add(h, index(fromCluster), index(fromNode), index(toCluster), index(toNode), doc, e)
	})
}

// RemoveGatewayFaults removes every fault from a gateway link (as for AddGatewayFault).
func (sc *Supercluster) RemoveGatewayFaults(fromCluster, fromNode, toCluster, toNode int) error {
	return sc.call("RemoveGatewayFaults", func(h *C.nats_supercluster_t, e **C.char) C.nats_server_status {
		return C.nats_supercluster_gateway_fault_remove(h, index(fromCluster), index(fromNode), index(toCluster), index(toNode), nil, e)
	})
}
