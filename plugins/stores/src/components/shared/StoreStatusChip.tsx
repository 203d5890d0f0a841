import Chip from '@material-ui/core/Chip';
import { makeStyles } from '@material-ui/core/styles';
import { StoreStatus } from '@storeplane/plugin-stores-common';

const useStyles = makeStyles(theme => ({
  Provisioning: {
    backgroundColor: theme.palette.info.main,
    color: theme.palette.info.contrastText,
  },
  Ready: {
    backgroundColor: theme.palette.success.main,
    color: theme.palette.success.contrastText,
  },
  Degraded: {
    backgroundColor: theme.palette.warning.dark,
    color: theme.palette.warning.contrastText,
  },
  Updating: {
    backgroundColor: theme.palette.info.dark,
    color: theme.palette.info.contrastText,
  },
  Restoring: {
    backgroundColor: theme.palette.info.dark,
    color: theme.palette.info.contrastText,
  },
  Failed: {
    backgroundColor: theme.palette.error.main,
    color: theme.palette.error.contrastText,
  },
  Deleting: {
    backgroundColor: theme.palette.warning.main,
    color: theme.palette.warning.contrastText,
  },
}));

export const StoreStatusChip = ({ status }: { status: StoreStatus }) => {
  const classes = useStyles();
  return (
    <Chip
      size="small"
      label={status}
      className={classes[status]}
      aria-label={`Status: ${status}`}
    />
  );
};
