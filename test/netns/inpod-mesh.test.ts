// The in-pod mesh for real: pod network namespaces on a bridge, two agents ("nodes") capturing
// their pods' traffic with iptables, and unmodified Debian clients (curl, nc, iperf3) in the pods.

import { inpodMeshSuite } from '../helpers/inpod-mesh-suite.js';

inpodMeshSuite();
