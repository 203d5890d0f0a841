import Chip from '@material-ui/core/Chip';
import List from '@material-ui/core/List';
import ListItem from '@material-ui/core/ListItem';
import ListItemIcon from '@material-ui/core/ListItemIcon';
import ListItemText from '@material-ui/core/ListItemText';
import Typography from '@material-ui/core/Typography';
import { makeStyles } from '@material-ui/core/styles';
import ErrorIcon from '@material-ui/icons/ErrorOutline';
import InfoIcon from '@material-ui/icons/InfoOutlined';
import WarningIcon from '@material-ui/icons/ReportProblemOutlined';
import { InfoCard } from '@backstage/core-components';
import { StoreEvent, StoreEventLevel } from '@storeplane/plugin-stores-common';
import { relativeTime } from '../shared';

const useStyles = makeStyles(theme => ({
  info: { color: theme.palette.info.main },
  warning: { color: theme.palette.warning.main },
  error: { color: theme.palette.error.main },
  meta: {
    display: 'flex',
    alignItems: 'center',
    gap: theme.spacing(1),
    flexWrap: 'wrap',
  },
}));

const levelIcons: Record<StoreEventLevel, typeof InfoIcon> = {
  info: InfoIcon,
  warning: WarningIcon,
  error: ErrorIcon,
};

const StoreEventItem = ({ event }: { event: StoreEvent }) => {
  const classes = useStyles();
  const LevelIcon = levelIcons[event.level];
  return (
    <ListItem divider aria-label={`${event.level}: ${event.message}`}>
      <ListItemIcon>
        <LevelIcon className={classes[event.level]} titleAccess={event.level} />
      </ListItemIcon>
      <ListItemText
        primary={event.message}
        secondaryTypographyProps={{ component: 'div' }}
        secondary={
          <span className={classes.meta}>
            <Chip size="small" variant="outlined" label={event.level} />
            <time
              dateTime={event.createdAt}
              title={new Date(event.createdAt).toLocaleString()}
            >
              {relativeTime(event.createdAt)}
            </time>
            <span>{event.type}</span>
            {event.actor && <span>by {event.actor}</span>}
          </span>
        }
      />
    </ListItem>
  );
};

/** What happened to the store, newest first. */
export const StoreActivity = ({ events }: { events: StoreEvent[] }) => {
  const newestFirst = [...events].sort(
    (a, b) => Date.parse(b.createdAt) - Date.parse(a.createdAt) || b.id - a.id,
  );
  return (
    <InfoCard
      title="Activity"
      titleTypographyProps={{ component: 'h2' }}
      noPadding
    >
      {newestFirst.length === 0 ? (
        <Typography variant="body2" style={{ padding: 16 }}>
          No activity recorded yet.
        </Typography>
      ) : (
        <List dense aria-label="Store activity">
          {newestFirst.map(event => (
            <StoreEventItem key={event.id} event={event} />
          ))}
        </List>
      )}
    </InfoCard>
  );
};
