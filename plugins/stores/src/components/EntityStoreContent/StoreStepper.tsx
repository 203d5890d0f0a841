import Step from '@material-ui/core/Step';
import StepLabel from '@material-ui/core/StepLabel';
import Stepper from '@material-ui/core/Stepper';
import Typography from '@material-ui/core/Typography';
import {
  DELETION_STEPS,
  isStoreProvisioned,
  PROVISIONING_STEPS,
  Store,
  STORE_STEP_TITLES,
} from '@storeplane/plugin-stores-common';

/**
 * The lifecycle gates of a store as a stepper: passed gates are checked, the gate the
 * reconciler works on is active, and the gate a Failed store stopped at is red. A Degraded
 * store passed them all; what its latest check found is shown above the stepper.
 */
export const StoreStepper = ({ store }: { store: Store }) => {
  const deleting = store.status === 'Deleting';
  const steps = deleting ? DELETION_STEPS : PROVISIONING_STEPS;
  const currentIndex = store.step ? steps.indexOf(store.step) : -1;
  const provisioned = isStoreProvisioned(store.status);
  const activeStep = provisioned ? steps.length : Math.max(currentIndex, 0);
  const failedIndex = store.status === 'Failed' ? currentIndex : -1;

  return (
    <Stepper
      activeStep={activeStep}
      alternativeLabel
      aria-label={deleting ? 'Deletion steps' : 'Provisioning steps'}
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
