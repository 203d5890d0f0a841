import { classifyHelmFailure } from './faults';

const JOB = 'Helm install Job helm-install-1';
const classify = (output: string) =>
  classifyHelmFailure(JOB, {
    output,
    jobMessage: 'Job has reached the specified backoff limit',
    exitCode: 1,
  });

describe('classifyHelmFailure', () => {
  it.each([
    [
      'helm_webhook',
      'Error: INSTALLATION FAILED: Internal error occurred: failed calling webhook "validate.nginx.ingress.kubernetes.io": failed to call webhook: Post "https://ingress-nginx-controller-admission.ingress-nginx.svc:443/networking/v1/ingresses?timeout=10s": dial tcp 10.96.0.12:443: connect: connection refused',
    ],
    [
      'helm_rate_limited',
      'Error: INSTALLATION FAILED: the server has received too many requests and has asked us to try again later (post services)',
    ],
    [
      'helm_server_error',
      'Error: INSTALLATION FAILED: the server is currently unable to handle the request (post statefulsets.apps)',
    ],
    [
      'helm_server_error',
      'Error: INSTALLATION FAILED: etcdserver: request timed out',
    ],
    [
      'helm_server_error',
      'Error: 2 errors occurred:\n\t* Timeout: request did not complete within requested timeout - context deadline exceeded\n\t* Timeout: request did not complete within requested timeout - context deadline exceeded',
    ],
    [
      'helm_network',
      'Error: Kubernetes cluster unreachable: Get "https://10.96.0.1:443/version": dial tcp 10.96.0.1:443: connect: connection refused',
    ],
    [
      'helm_network',
      'Error: INSTALLATION FAILED: Post "https://10.96.0.1:443/api/v1/namespaces/x/secrets": net/http: TLS handshake timeout',
    ],
    [
      'helm_network',
      'Error: INSTALLATION FAILED: read tcp 10.244.0.5:51234->10.96.0.1:443: read: connection reset by peer',
    ],
    [
      'helm_network',
      'Error: INSTALLATION FAILED: dial tcp 10.96.0.1:443: i/o timeout',
    ],
    [
      'helm_conflict',
      'Error: UPGRADE FAILED: Operation cannot be fulfilled on deployments.apps "woocommerce-wordpress": the object has been modified; please apply your changes to the latest version and try again',
    ],
    [
      'helm_locked',
      'Error: UPGRADE FAILED: another operation (install/upgrade/rollback) is in progress',
    ],
  ])('retries %s: %s', (reason, output) => {
    const fault = classify(output);
    expect(fault).toMatchObject({ kind: 'transient', reason });
    expect(fault.message).toContain(`${JOB} failed because`);
    expect(fault.message).toContain(output);
  });

  it.each([
    'Error: INSTALLATION FAILED: template: woocommerce-store/templates/ingress.yaml:3:14: executing "x" at <.Values.ingress.host>: nil pointer evaluating interface {}.host',
    "Error: INSTALLATION FAILED: values don't meet the specifications of the schema(s) in the following chart(s)",
    'Error: UPGRADE FAILED: cannot patch "woocommerce-mariadb" with kind StatefulSet: StatefulSet.apps "woocommerce-mariadb" is invalid: spec: Forbidden: updates to statefulset spec for fields other than \'replicas\' are forbidden',
    'Error: INSTALLATION FAILED: services "woocommerce-wordpress" is forbidden: exceeded quota: storeplane-quota',
    'Error: INSTALLATION FAILED: failed post-install: 1 error occurred:\n\t* timed out waiting for the condition',
  ])("fails on helm's own verdict: %s", output => {
    expect(classify(output)).toMatchObject({
      kind: 'permanent',
      reason: 'helm_failed',
      message: `${JOB} failed: Job has reached the specified backoff limit. Helm output (last lines):\n${output}`,
    });
  });

  it('treats a pod stopped from outside (no output, killed) as interrupted and reruns it', () => {
    expect(
      classifyHelmFailure(JOB, { jobMessage: 'the Job failed', exitCode: 137 }),
    ).toMatchObject({ kind: 'transient', reason: 'helm_interrupted' });
    expect(
      classifyHelmFailure(JOB, { jobMessage: 'the Job ran past its deadline' }),
    ).toMatchObject({ kind: 'transient', reason: 'helm_interrupted' });
    expect(
      classifyHelmFailure(JOB, {
        jobMessage: 'the Job failed',
        output: 'Release "woocommerce" does not exist. Installing it now.',
        exitCode: 137,
      }),
    ).toMatchObject({ kind: 'transient', reason: 'helm_interrupted' });
    expect(
      classifyHelmFailure(JOB, { jobMessage: 'the Job failed', exitCode: 2 }),
    ).toMatchObject({ kind: 'permanent', reason: 'helm_failed' });
  });
});
