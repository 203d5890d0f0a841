/** The test plans plus `medium`, which a small store can move to (same storage, one replica). */
export const updatePlans = {
  small: {
    title: 'Small',
    cpu: '250m',
    memory: '256Mi',
    storage: '2Gi',
    replicas: 1,
  },
  medium: {
    title: 'Medium',
    cpu: '500m',
    memory: '512Mi',
    storage: '2Gi',
    replicas: 1,
  },
  large: {
    title: 'Large',
    cpu: '1',
    memory: '1Gi',
    storage: '10Gi',
    replicas: 2,
  },
};
