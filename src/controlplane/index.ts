// Public surface of the control plane (`ambit control`, istiod's role). The data plane never
// imports this module; src/bin wires it.

export * from './ca/index.js';
