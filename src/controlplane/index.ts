// Public surface of the control plane (`ambit control`, Istio's istiod role). The data plane never
// imports this module; src/bin wires it to object sources and the xDS server.

export * from './translate/index.js';
