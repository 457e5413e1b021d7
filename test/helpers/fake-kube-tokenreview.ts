// A stand-in for the Kubernetes API server's TokenReview endpoint (authentication.k8s.io/v1),
// answering as the API documents: the reviewer must authenticate, status.audiences is the
// intersection of the requested and the token's audiences, refused tokens get authenticated=false.

import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';

export const REVIEWER_TOKEN = 'reviewer-sa-token';

export interface FakeServiceAccountToken {
  readonly namespace: string;
  readonly serviceAccount: string;
  /** The token's `aud` claim; default ['istio-ca']. */
  readonly audiences?: readonly string[];
  readonly pod?: { readonly name: string; readonly uid: string };
}

export interface FakeTokenReview {
  readonly url: string;
  /** Every TokenReview body received. */
  readonly reviews: Array<{ spec?: { token?: string; audiences?: string[] } }>;
  /** A KubeConfig that reaches this server with `reviewerToken` (default the accepted one). */
  kubeConfig(reviewerToken?: string): KubeConfig;
  /** An API server that ignores spec.audiences (answers without status.audiences). */
  setAudienceUnaware(on: boolean): void;
  close(): Promise<void>;
}

const PATH = '/apis/authentication.k8s.io/v1/tokenreviews';

export async function startFakeTokenReview(tokens: Readonly<Record<string, FakeServiceAccountToken>>): Promise<FakeTokenReview> {
  const reviews: FakeTokenReview['reviews'] = [];
  let audienceUnaware = false;
  const server: Server = createServer((req, res) => {
    void (async () => {
      const send = (code: number, body: unknown): void => {
        res.writeHead(code, { 'content-type': 'application/json' });
        res.end(JSON.stringify(body));
      };
      if (req.method !== 'POST' || req.url?.split('?')[0] !== PATH) return send(404, status(404, 'NotFound', 'the server could not find the requested resource'));
      if (req.headers.authorization !== `Bearer ${REVIEWER_TOKEN}`) return send(401, status(401, 'Unauthorized', 'Unauthorized'));
      const review = JSON.parse(await body(req)) as { spec?: { token?: string; audiences?: string[] } };
      reviews.push(review);
      const spec = review.spec ?? {};
      const sa = spec.token !== undefined ? tokens[spec.token] : undefined;
      const base = { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', metadata: { creationTimestamp: null }, spec };
      if (sa === undefined) return send(201, { ...base, status: { user: {}, error: '[invalid bearer token, square/go-jose: error in cryptographic primitive]' } });
      const tokenAud = sa.audiences ?? ['istio-ca'];
      const wanted = spec.audiences ?? [];
      const common = wanted.length === 0 ? tokenAud : wanted.filter((a) => tokenAud.includes(a));
      if (!audienceUnaware && common.length === 0) {
        return send(201, { ...base, status: { user: {}, error: '[invalid bearer token, token audiences ["' + tokenAud.join('","') + '"] is invalid for the target audiences]' } });
      }
      const user = {
        username: `system:serviceaccount:${sa.namespace}:${sa.serviceAccount}`,
        uid: `uid-${sa.namespace}-${sa.serviceAccount}`,
        groups: ['system:serviceaccounts', `system:serviceaccounts:${sa.namespace}`, 'system:authenticated'],
        ...(sa.pod
          ? { extra: { 'authentication.kubernetes.io/pod-name': [sa.pod.name], 'authentication.kubernetes.io/pod-uid': [sa.pod.uid] } }
          : {}),
      };
      return send(201, { ...base, status: { authenticated: true, user, ...(audienceUnaware ? {} : { audiences: common }) } });
    })().catch(() => {
      res.writeHead(500);
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    reviews,
    kubeConfig(reviewerToken = REVIEWER_TOKEN) {
      const kc = new KubeConfig();
      kc.loadFromOptions({
        clusters: [{ name: 'fake', server: url, skipTLSVerify: true }],
        users: [{ name: 'reviewer', token: reviewerToken }],
        contexts: [{ name: 'fake', cluster: 'fake', user: 'reviewer' }],
        currentContext: 'fake',
      });
      return kc;
    },
    setAudienceUnaware(on) {
      audienceUnaware = on;
    },
    close() {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

function status(code: number, reason: string, message: string): unknown {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code };
}

async function body(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
