import { DependencyList, ReactNode } from 'react';
import Box from '@material-ui/core/Box';
import Button from '@material-ui/core/Button';
import Alert from '@material-ui/lab/Alert';
import { InfoCard, Progress } from '@backstage/core-components';
import useAsyncRetry from 'react-use/esm/useAsyncRetry';

/**
 * A Store tab card that shows something read live from the stores backend: a progress bar
 * until the first answer, a warning with "Try again" when the read fails, and the answer
 * (kept while a reload runs). `deps` says when to read again.
 */
export function LiveReadCard<T>(props: {
  title: string;
  read: () => Promise<T>;
  deps: DependencyList;
  children: (value: T) => ReactNode;
}) {
  const { title, read, deps, children } = props;
  // eslint-disable-next-line react-hooks/exhaustive-deps
  const { value, error, loading, retry } = useAsyncRetry(read, deps);

  return (
    <InfoCard title={title} titleTypographyProps={{ component: 'h2' }}>
      {loading && !value && <Progress />}
      {error && (
        <Alert
          severity="warning"
          action={
            <Button color="inherit" size="small" onClick={retry}>
              Try again
            </Button>
          }
        >
          {error.message}
        </Alert>
      )}
      {value && (
        <Box display="flex" flexDirection="column" gridGap={16}>
          {children(value)}
        </Box>
      )}
    </InfoCard>
  );
}
