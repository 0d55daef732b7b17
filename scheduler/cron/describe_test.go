package cron

import "testing"

func TestDescribe(t *testing.T) {
	t.Parallel()
	tests := []struct{ expr, want string }{
		{"0 9 * * 1-5", "At 09:00, Monday through Friday"},
		{"0 9 * * MON-FRI", "At 09:00, Monday through Friday"},
		{"*/15 * * * *", "Every 15 minutes"},
		{"* * * * *", "Every minute"},
		{"30 * * * *", "At minute 30 past every hour"},
		{"0 * * * *", "Every hour, on the hour"},
		{"@hourly", "Every hour, on the hour"},
		{"0 0 1 * *", "At 00:00 on day 1 of the month"},
		{"30 2 * 1 *", "At 02:30, only in January"},
		{"30 2 * JAN *", "At 02:30, only in January"},
		{"0 0 * * *", "At 00:00"},
		{"@weekly", "At 00:00, only on Sunday"},
		{"0 0 * * 7", "At 00:00, only on Sunday"},
		{"@yearly", "At 00:00 on day 1 of the month, only in January"},
		{"0 9,17 * * *", "At 09:00 and 17:00"},
		{"0,30 9 * * *", "At 09:00 and 09:30"},
		{"0 12 1,15 * *", "At 12:00 on days 1 and 15 of the month"},
		{"0 12 1-7 * *", "At 12:00 on days 1 through 7 of the month"},
		{"0 12 */2 * *", "At 12:00 on every 2nd day of the month"},
		{"0 8 * * 1,3,5", "At 08:00, on Monday, Wednesday and Friday"},
		{"0 8 * 1-3 *", "At 08:00, January through March"},
		{"0 8 * 1,7 *", "At 08:00, only in January and July"},
		{"*/15 9-17 * * 1-5", "Every 15 minutes between 09:00 and 17:59, Monday through Friday"},
		{"*/10 9 * * *", "Every 10 minutes between 09:00 and 09:59"},
		{"0 */2 * * *", "Every 2 hours, on the hour"},
		{"15 */6 * * *", "At minute 15 past every 6 hours"},
		{"30 9-17 * * *", "At minute 30 past every hour between 09:00 and 17:59"},
		{"0,15,30,45 * * * *", "At minutes 0, 15, 30 and 45 past every hour"},
		{"5 1,3,5,7,9,11,13 * * *", "At minute 5 past hours 1, 3, 5, 7, 9, 11 and 13"},
		{"0-30/10 9-17 * * *", "Every 10 minutes from minute 0 through 30, between 09:00 and 17:59"},
		{"0-30/10,45 9-17/2 * * *", "At minutes every 10th minute from 0 through 30 and 45 past hours every 2nd hour from 9 through 17"},
		{"*/20 1,5 * * *", "Every 20 minutes, during hours 1 and 5"},
	}
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			t.Parallel()
			if got := mustParse(t, tt.expr).Describe(); got != tt.want {
				t.Errorf("Describe(%q)\n got: %s\nwant: %s", tt.expr, got, tt.want)
			}
		})
	}
}
