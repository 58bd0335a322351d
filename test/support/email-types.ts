/** One message as the mail capture endpoint stored it. */
export type CapturedEmail = {
  from: string;
  to: string[];
  subject: string;
  html: string;
  text: string;
  authorization: string | null;
  receivedAt: string;
};
