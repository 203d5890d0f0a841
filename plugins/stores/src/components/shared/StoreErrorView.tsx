import Button from '@material-ui/core/Button';
import {
  EmptyState,
  ResponseErrorPanel,
  WarningPanel,
} from '@backstage/core-components';
import { ResponseError } from '@backstage/errors';

export function isStoreGone(error: Error | undefined): boolean {
  return (error as ResponseError | undefined)?.statusCode === 404;
}

/** Turns a failed store request into words the user can act on. */
export const StoreErrorView = (props: {
  error: Error;
  onRetry?: () => void;
}) => {
  const { error, onRetry } = props;
  const statusCode = (error as ResponseError).statusCode;
  const tryAgain = onRetry ? (
    <Button variant="outlined" onClick={onRetry}>
      Try again
    </Button>
  ) : undefined;

  if (statusCode === 404) {
    return (
      <EmptyState
        missing="data"
        title="This store was deleted"
        description="The store behind this entity no longer exists. The catalog removes its entity shortly."
      />
    );
  }
  if (statusCode === 401 || statusCode === 403) {
    return (
      <WarningPanel
        severity="error"
        title="You are not allowed to see this store"
        message="Ask the store's owner or your platform team for access."
      />
    );
  }
  if (error instanceof ResponseError || error.name === 'ResponseError') {
    return (
      <>
        <ResponseErrorPanel error={error} title="Could not load the store" />
        {tryAgain}
      </>
    );
  }
  return (
    <>
      <WarningPanel
        severity="error"
        title="Could not reach the stores backend"
        message={`Check your connection or ask your platform team whether Backstage's stores backend is running. (${error.message})`}
      />
      {tryAgain}
    </>
  );
};
