import Step from '@material-ui/core/Step';
import StepLabel from '@material-ui/core/StepLabel';
import Stepper from '@material-ui/core/Stepper';
import Typography from '@material-ui/core/Typography';
import {
  DELETION_STEPS,
  isStoreProvisioned,
  PROVISIONING_STEPS,
  RESTORE_STEPS,
  Store,
  STORE_STEP_TITLES,
} from '@storeplane/plugin-stores-common';

/**
 * The lifecycle gates of a store as a stepper: passed gates are checked, the gate the
 * reconciler works on is active, and the gate a Failed store stopped at is red. A Degraded
 * store passed them all; what its latest check found is shown above the stepper. An Updating
 * store passes them again (and, when they fail, a Helm rollback); a Restoring store runs its
 * restore Job, then passes the availability and health gates again.
 */
export const StoreStepper = ({ store }: { store: Store }) => {
  const deleting = store.status === 'Deleting';
  const updating = store.status === 'Updating';
  const restoring = store.status === 'Restoring';
  let steps = deleting ? DELETION_STEPS : PROVISIONING_STEPS;
  if (restoring) steps = RESTORE_STEPS;
  if (updating && store.step === 'helmRollback') {
    steps = [...steps, 'helmRollback'];
  }
  const currentIndex = store.step ? steps.indexOf(store.step) : -1;
  // An update or a restore passes the gates again while the store keeps serving.
  const provisioned =
    isStoreProvisioned(store.status) && !updating && !restoring;
  const activeStep = provisioned ? steps.length : Math.max(currentIndex, 0);
  const failedIndex = store.status === 'Failed' ? currentIndex : -1;

  return (
    <Stepper
      activeStep={activeStep}
      alternativeLabel
      aria-label={
        // eslint-disable-next-line no-nested-ternary
        deleting
          ? 'Deletion steps'
          : // eslint-disable-next-line no-nested-ternary
          updating
          ? 'Update steps'
          : restoring
          ? 'Restore steps'
          : 'Provisioning steps'
      }
    >
      {steps.map((step, index) => {
        const failed = index === failedIndex;
        const current = index === activeStep && !provisioned;
        return (
          <Step key={step} completed={index < activeStep}>
            <StepLabel
              error={failed}
              aria-current={current ? 'step' : undefined}
              optional={
                failed ? (
                  <Typography variant="caption" color="error">
                    Failed
                  </Typography>
                ) : undefined
              }
            >
              {STORE_STEP_TITLES[step]}
            </StepLabel>
          </Step>
        );
      })}
    </Stepper>
  );
};
